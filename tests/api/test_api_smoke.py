from tests.helpers import assert_error


def test_health_ok(api):
    response = api.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"storage": "ok", "locks": "ok"}


def test_unknown_route_is_json_404(api):
    assert_error(api.get("/api/v1/nope"), 404, "not_found")
