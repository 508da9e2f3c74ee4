"""Helpers shared by the lock tests and the subprocesses they start.

They live outside conftest.py so that a spawned subprocess can import them
by a module name that no other test folder uses.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from locking.base import LockBackend
from locking.local import FileLockBackend
from locking.zookeeper import ZooKeeperLockBackend

ZOOKEEPER_PORT = int(os.environ.get("LOCKSTEP_ZK_PORT", "2181"))
ZOOKEEPER_HOSTS = f"127.0.0.1:{ZOOKEEPER_PORT}"


def backend_selected(kind: str) -> bool:
    """Return whether LOCKSTEP_TEST_BACKENDS is unset or names `kind`."""
    value = os.environ.get("LOCKSTEP_TEST_BACKENDS")
    if value is None:
        return True
    return kind in {part.strip() for part in value.split(",")}


def skip_unless_selected(kind: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        not backend_selected(kind),
        reason=f"LOCKSTEP_TEST_BACKENDS does not include {kind}",
    )


def wait_until(predicate: Callable[[], bool], timeout: float, condition: str) -> None:
    """Call `predicate` every 50 ms until it returns True, failing after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out after {timeout:g} s waiting until {condition}.")
        time.sleep(0.05)


def build_backend(kind: str, options: dict[str, Any]) -> LockBackend:
    if kind == "local":
        return FileLockBackend(**options)
    if kind == "zookeeper":
        return ZooKeeperLockBackend(**options)
    raise ValueError(f"Unknown lock backend {kind!r}, expected local or zookeeper.")


def increment_counter(counter: Path) -> None:
    """Add one to the number in `counter`, slowly enough to lose updates unlocked."""
    value = int(counter.read_text())
    time.sleep(0.002)
    counter.write_text(str(value + 1))


def increment_in_process(
    kind: str, options: dict, name: str, counter: str, increments: int
) -> None:
    """Subprocess body: build a backend of its own and increment under the lock."""
    backend = build_backend(kind, options)
    try:
        for _ in range(increments):
            with backend.lock(name):
                increment_counter(Path(counter))
    finally:
        backend.close()


class TcpProxy:
    """TCP forwarder on 127.0.0.1 to a local port, whose links a test can cut.

    Cutting shuts down every forwarded connection and makes the proxy close
    new ones at once, which a client sees as a network failure, while the
    server behind it keeps running.
    """

    def __init__(self, target_port: int):
        self._target = ("127.0.0.1", target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._guard = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._forwarding = True
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def cut(self) -> None:
        with self._guard:
            self._forwarding = False
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shut(sock)

    def restore(self) -> None:
        with self._guard:
            self._forwarding = True

    def close(self) -> None:
        self.cut()
        self._listener.close()

    def _accept_loop(self) -> None:
        while True:
            try:
                downstream, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed
            with self._guard:
                if not self._forwarding:
                    _shut(downstream)
                    continue
                try:
                    upstream = socket.create_connection(self._target, timeout=5)
                except OSError:
                    _shut(downstream)
                    continue
                upstream.settimeout(None)
                self._sockets += [downstream, upstream]
            for source, target in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(
                    target=_pump, args=(source, target), daemon=True
                ).start()


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        _shut(source)
        _shut(target)


def _shut(sock: socket.socket) -> None:
    # shutdown() wakes a thread blocked in recv() on the socket, but close()
    # alone does not on Linux.
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
