"""Fixtures for the lock tests: backend selection, ZooKeeper access, a TCP proxy.

LOCKSTEP_TEST_BACKENDS, a comma-separated list such as "sqlite,local",
limits the backends under test, and a backend it does not name is skipped.
Unset, every backend is tested. The ZooKeeper tests need the server at
127.0.0.1:$LOCKSTEP_ZK_PORT (default 2181) that `scripts/services.sh start
zookeeper` runs. They fail, and do not skip, when it does not respond.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import NoNodeError
from kazoo.handlers.threading import KazooTimeoutError
from lock_support import ZOOKEEPER_HOSTS, ZOOKEEPER_PORT, TcpProxy


@pytest.fixture(scope="session")
def zk_client() -> Iterator[KazooClient]:
    """A client of the test server, for inspecting and changing znodes."""
    client = KazooClient(hosts=ZOOKEEPER_HOSTS)
    try:
        client.start(timeout=10)
    except KazooTimeoutError:
        pytest.fail(
            f"ZooKeeper is not responding at {ZOOKEEPER_HOSTS}. Start it with "
            "`scripts/services.sh start zookeeper`, or leave zookeeper out of "
            "LOCKSTEP_TEST_BACKENDS (for example LOCKSTEP_TEST_BACKENDS=sqlite,local)."
        )
    yield client
    client.stop()
    client.close()


@pytest.fixture
def zk_root(zk_client: KazooClient) -> Iterator[str]:
    """A lock root of this test alone, deleted with everything under it afterwards."""
    root = f"/lockstep-test/{uuid.uuid4().hex}"
    yield root
    try:
        zk_client.delete(root, recursive=True)
    except NoNodeError:
        pass


@pytest.fixture
def free_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound once, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def zk_proxy(zk_client: KazooClient) -> Iterator[TcpProxy]:
    """A TcpProxy in front of the test ZooKeeper server."""
    proxy = TcpProxy(ZOOKEEPER_PORT)
    yield proxy
    proxy.close()
