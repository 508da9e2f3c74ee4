"""The benchmark-only endpoint is not served unless LOCKSTEP_BENCH_ENDPOINTS=1."""

from tests.helpers import assert_error


def test_bench_endpoint_off_by_default(api):
    assert_error(api.get("/bench/empty"), 404, "not_found")
