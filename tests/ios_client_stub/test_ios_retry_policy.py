import random

import pytest

from ios_client_stub.retry import RetryPolicy


class Flaky(Exception):
    def __init__(self, retry_after=None):
        super().__init__("flaky")
        self.retry_after = retry_after


class Fatal(Exception):
    pass


def make_policy(fake_clock, **overrides):
    settings = dict(
        max_tries=4,
        initial_delay=0.2,
        max_delay=2.0,
        jitter=0.0,
        max_retry_after=10.0,
        deadline=60.0,
        sleep=fake_clock.sleep,
        clock=fake_clock,
        rng=random.Random(7),
    )
    settings.update(overrides)
    return RetryPolicy(**settings)


def failing(errors, result="ok"):
    """Return an operation that raises the given errors in turn, then returns result."""
    remaining = list(errors)
    calls = []

    def operation():
        calls.append(1)
        if remaining:
            raise remaining.pop(0)
        return result

    operation.calls = calls
    return operation


def retry_flaky(error):
    return isinstance(error, Flaky)


def test_backoff_doubles_up_to_max_delay(fake_clock):
    policy = make_policy(fake_clock, max_delay=1.0)

    delays = [policy.backoff(n) for n in range(1, 7)]

    assert delays == pytest.approx([0.2, 0.4, 0.8, 1.0, 1.0, 1.0])


def test_backoff_jitter_stays_in_range(fake_clock):
    policy = make_policy(fake_clock, jitter=0.5, rng=random.Random(1))

    for retry_number in range(1, 6):
        base = min(2.0, 0.2 * 2 ** (retry_number - 1))
        samples = [policy.backoff(retry_number) for _ in range(200)]
        assert min(samples) >= base * 0.5
        assert max(samples) <= base
        assert len(set(samples)) > 1


def test_backoff_huge_retry_number_does_not_overflow(fake_clock):
    policy = make_policy(fake_clock)

    assert policy.backoff(5000) == pytest.approx(2.0)


def test_call_retries_until_success(fake_clock):
    policy = make_policy(fake_clock)
    operation = failing([Flaky(), Flaky()])

    assert policy.call(operation, retry_flaky) == "ok"
    assert len(operation.calls) == 3
    assert fake_clock.sleeps == pytest.approx([0.2, 0.4])


def test_call_raises_after_max_tries(fake_clock):
    policy = make_policy(fake_clock, max_tries=3)
    operation = failing([Flaky(), Flaky(), Flaky(), Flaky()])

    with pytest.raises(Flaky):
        policy.call(operation, retry_flaky)
    assert len(operation.calls) == 3
    assert len(fake_clock.sleeps) == 2


def test_call_does_not_retry_rejected_error(fake_clock):
    policy = make_policy(fake_clock)
    operation = failing([Fatal()])

    with pytest.raises(Fatal):
        policy.call(operation, retry_flaky)
    assert len(operation.calls) == 1
    assert fake_clock.sleeps == []


def test_call_honours_retry_after(fake_clock):
    policy = make_policy(fake_clock)
    operation = failing([Flaky(retry_after=3.0)])

    policy.call(operation, retry_flaky)

    assert fake_clock.sleeps == pytest.approx([3.0])


def test_call_caps_retry_after(fake_clock):
    policy = make_policy(fake_clock, max_retry_after=5.0)
    operation = failing([Flaky(retry_after=3600.0)])

    policy.call(operation, retry_flaky)

    assert fake_clock.sleeps == pytest.approx([5.0])


def test_call_short_retry_after_keeps_backoff(fake_clock):
    policy = make_policy(fake_clock, initial_delay=1.0)
    operation = failing([Flaky(retry_after=0.0)])

    policy.call(operation, retry_flaky)

    assert fake_clock.sleeps == pytest.approx([1.0])


def test_call_stops_at_deadline(fake_clock):
    # Waits of 0.2, 0.4 and 0.8 s: the third would end at 1.4 s, past 1.0 s.
    policy = make_policy(fake_clock, max_tries=10, deadline=1.0)
    operation = failing([Flaky()] * 10)

    with pytest.raises(Flaky):
        policy.call(operation, retry_flaky)
    assert fake_clock.sleeps == pytest.approx([0.2, 0.4])
    assert len(operation.calls) == 3


def test_call_retry_after_past_deadline_raises(fake_clock):
    policy = make_policy(fake_clock, deadline=2.0)
    operation = failing([Flaky(retry_after=5.0)])

    with pytest.raises(Flaky):
        policy.call(operation, retry_flaky)
    assert fake_clock.sleeps == []


@pytest.mark.parametrize(
    "settings",
    [
        {"max_tries": 0},
        {"jitter": 1.5},
        {"jitter": -0.1},
        {"initial_delay": -1.0},
        {"deadline": -1.0},
    ],
)
def test_policy_rejects_invalid_settings(settings):
    with pytest.raises(ValueError):
        RetryPolicy(**settings)
