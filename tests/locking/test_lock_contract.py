"""Contract of the lock interface, run against every lock backend.

Backends are built directly, without Django settings: the file backend in a
temporary folder, the ZooKeeper backend under a lock root of its own.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lock_support import (
    ZOOKEEPER_HOSTS,
    build_backend,
    increment_counter,
    increment_in_process,
    skip_unless_selected,
)

from locking.base import LockBackend, LockTimeout

pytestmark = pytest.mark.timeout(120)

# Seconds an acquire may take beyond its timeout before a test calls it late.
MARGIN = 0.5

NAME = "game/0b7f4c7e-2d7e-4c5e-9a55-3f1e8f0c6a11"


@pytest.fixture(
    params=[
        pytest.param("local", marks=skip_unless_selected("local")),
        pytest.param("zookeeper", marks=skip_unless_selected("zookeeper")),
    ]
)
def backend_spec(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, dict]:
    """The backend kind and the options that build it, picklable for subprocesses."""
    kind = request.param
    if kind == "local":
        return kind, {"directory": str(tmp_path / "locks")}
    root = request.getfixturevalue("zk_root")
    return kind, {"hosts": ZOOKEEPER_HOSTS, "root": root}


@pytest.fixture
def make_backend(
    backend_spec: tuple[str, dict],
) -> Iterator[Callable[..., LockBackend]]:
    """Build backends of the kind under test, closed when the test ends."""
    kind, options = backend_spec
    backends: list[LockBackend] = []

    def make(**overrides: Any) -> LockBackend:
        backend = build_backend(kind, {**options, **overrides})
        backends.append(backend)
        return backend

    yield make
    for backend in backends:
        backend.close()


def test_acquire_and_release(make_backend):
    backend = make_backend()
    lock = backend.lock(NAME)

    assert lock.acquire(timeout=5) is True
    lock.check_held()
    lock.release()

    again = backend.lock(NAME)
    assert again.acquire(timeout=0) is True
    again.release()


def test_held_lock_times_out_second_acquire(make_backend):
    holder = make_backend().lock(NAME)
    waiter = make_backend().lock(NAME)
    assert holder.acquire(timeout=5)

    started = time.monotonic()
    acquired = waiter.acquire(timeout=0.5)
    elapsed = time.monotonic() - started

    assert acquired is False
    assert elapsed >= 0.45
    assert elapsed < 0.5 + MARGIN
    holder.release()


def test_queued_waiter_returns_at_its_timeout(make_backend):
    # The second waiter queues behind the first, which gives up halfway
    # through the second's wait. The second must still return at its own
    # timeout, not wait a full timeout again from then.
    holder = make_backend().lock(NAME)
    assert holder.acquire(timeout=5)
    first_waiter = make_backend().lock(NAME)
    second_waiter = make_backend().lock(NAME)
    first_outcome: list[bool] = []
    first = threading.Thread(
        target=lambda: first_outcome.append(first_waiter.acquire(timeout=1.3))
    )
    first.start()
    time.sleep(0.1)

    started = time.monotonic()
    acquired = second_waiter.acquire(timeout=2.0)
    elapsed = time.monotonic() - started

    first.join(timeout=5)
    assert first_outcome == [False]
    assert acquired is False
    assert elapsed >= 1.95
    assert elapsed < 2.0 + MARGIN
    holder.release()


def test_try_acquire_of_held_lock_returns_false(make_backend):
    holder = make_backend().lock(NAME)
    waiter = make_backend().lock(NAME)
    assert holder.acquire(timeout=5)

    started = time.monotonic()
    acquired = waiter.acquire(timeout=0)
    elapsed = time.monotonic() - started

    assert acquired is False
    assert elapsed < MARGIN
    holder.release()


def test_with_raises_lock_timeout(make_backend):
    holder = make_backend().lock(NAME)
    waiter = make_backend(default_timeout=0.3).lock(NAME)
    assert holder.acquire(timeout=5)

    with pytest.raises(LockTimeout) as excinfo:
        with waiter:
            pytest.fail("The body ran without the lock.")

    assert excinfo.value.path == waiter.path
    assert excinfo.value.seconds == 0.3
    expected = f"Timed out after 0.3 s waiting for lock {waiter.path}."
    assert str(excinfo.value) == expected
    holder.release()


def test_with_releases_on_exception(make_backend):
    backend = make_backend()

    with pytest.raises(RuntimeError):
        with backend.lock(NAME):
            raise RuntimeError("body failed")

    again = backend.lock(NAME)
    assert again.acquire(timeout=0) is True
    again.release()


def test_release_is_idempotent(make_backend):
    backend = make_backend()
    lock = backend.lock(NAME)
    lock.release()  # never acquired

    assert lock.acquire(timeout=5)
    lock.release()
    lock.release()

    other = backend.lock(NAME)
    assert other.acquire(timeout=0) is True
    other.release()
    lock.release()
    assert backend.lock(NAME).acquire(timeout=0) is True


def test_lock_object_can_be_reacquired(make_backend):
    lock = make_backend().lock(NAME)

    for _ in range(3):
        assert lock.acquire(timeout=5) is True
        lock.release()


def test_different_names_do_not_block(make_backend):
    # Names that a careless mapping to files or znodes would merge.
    names = ["game/1", "game%2F1", "game_1", "game/1/", "game", "game%252F1"]
    first = make_backend()
    second = make_backend()
    held = [first.lock(name) for name in names]
    for lock in held:
        assert lock.acquire(timeout=5), lock.name

    for name in ["game/2", "game/1/x", "game%2f1"]:
        other = second.lock(name)
        assert other.acquire(timeout=0) is True, name
        other.release()

    for lock in held:
        lock.release()


def test_threads_exclude_each_other(make_backend, tmp_path):
    backend = make_backend(default_timeout=60)
    counter = tmp_path / "counter"
    counter.write_text("0")
    threads_count, increments = 8, 25
    inside = 0
    max_inside = 0
    inside_guard = threading.Lock()
    errors: list[BaseException] = []

    def work() -> None:
        nonlocal inside, max_inside
        try:
            for _ in range(increments):
                with backend.lock(NAME):
                    with inside_guard:
                        inside += 1
                        max_inside = max(max_inside, inside)
                    increment_counter(counter)
                    with inside_guard:
                        inside -= 1
        except BaseException as exc:  # reported by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=100)

    assert errors == []
    assert max_inside == 1
    assert int(counter.read_text()) == threads_count * increments


def test_processes_exclude_each_other(backend_spec, tmp_path):
    kind, options = backend_spec
    options = {**options, "default_timeout": 60}
    counter = tmp_path / "counter"
    counter.write_text("0")
    processes_count, increments = 4, 25
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(
            target=increment_in_process,
            args=(kind, options, NAME, str(counter), increments),
        )
        for _ in range(processes_count)
    ]

    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=100)

    assert [process.exitcode for process in processes] == [0] * processes_count
    assert int(counter.read_text()) == processes_count * increments
