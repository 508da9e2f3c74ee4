"""Private ZooKeeper and Cassandra servers for the fault tests, and fault helpers.

The fault tests kill, stop and pause servers. They must never touch the
shared servers on the default ports, so this session starts its own
through scripts/services.sh, with a var folder and ports of their own
(PRIVATE_ENV), signals only the pids that script reports for that folder,
and stops them at the end of the session.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from locking.zookeeper import ZooKeeperLockBackend
from tests.conftest import enabled_pairs, pair_id
from tests.live import ROOT, LiveServer
from tests.server_storage import open_server_storage
from tests.torture.harness import Torture, TortureConfig, TortureResult, check_all

PRIVATE_VAR_DIR = ROOT / "var" / "faults"
PRIVATE_ENV = {
    "LOCKSTEP_VAR_DIR": str(PRIVATE_VAR_DIR),
    "LOCKSTEP_ZK_PORT": "2281",
    "LOCKSTEP_CQL_PORT": "9142",
    "LOCKSTEP_STORAGE_PORT": "7100",
    "LOCKSTEP_JMX_PORT": "7299",
}
ZOOKEEPER_HOSTS = f"127.0.0.1:{PRIVATE_ENV['LOCKSTEP_ZK_PORT']}"

# The ZooKeeper session timeout of the servers under test, in seconds: the
# minimum that services/zookeeper/zoo.cfg allows, so a stop outlasts it soon.
SESSION_TIMEOUT = 4

# Maximum seconds any request may take during a fault. The lock wait (5 s)
# plus ZooKeeper's response grace (1 s) and Cassandra's request timeout
# (5 s) are all below it, and gunicorn's worker timeout (30 s) is far above.
REQUEST_BOUND = 8.0

# Phones of the harness in the fault tests: fewer than in the torture test,
# because the machine also runs the private servers.
PHONES = 6

DISTRIBUTED = ("cassandra", "zookeeper")


class PrivateServices:
    """ZooKeeper and Cassandra started by this test session on private ports."""

    def __init__(self):
        self.env = {**os.environ, **PRIVATE_ENV}
        self.started: set[str] = set()

    def script(self, *args: str, timeout: float = 400) -> str:
        result = subprocess.run(
            ["bash", str(ROOT / "scripts" / "services.sh"), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"services.sh {' '.join(args)} failed with {result.returncode}:\n"
                f"{result.stdout}\n{result.stderr}"
            )
        return result.stdout + result.stderr

    def start(self, service: str) -> float:
        """Start `service` if it is not running; return the seconds it took."""
        started = time.monotonic()
        self.script("start", service)
        self.started.add(service)
        return time.monotonic() - started

    def stop(self, service: str) -> None:
        self.resume(service)
        self.script("stop", service)

    def pid(self, service: str) -> int:
        pid = int(self.script("pid", service).split()[-1])
        # services.sh checks this too; a second check keeps a signal from
        # ever reaching a process that is not the private server.
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        if str(PRIVATE_VAR_DIR) not in cmdline:
            raise RuntimeError(f"pid {pid} is not the private {service} server")
        return pid

    def signal(self, service: str, sig: signal.Signals) -> int:
        pid = self.pid(service)
        os.kill(pid, sig)
        return pid

    def kill(self, service: str) -> None:
        """SIGKILL the server and wait until its process is gone."""
        pid = self.signal(service, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            status = Path(f"/proc/{pid}/stat").read_text(errors="replace")
            if status.rsplit(")", 1)[-1].split()[0] == "Z":
                break
            time.sleep(0.05)

    def resume(self, service: str) -> None:
        """SIGCONT the server if it runs, in case a test left it stopped."""
        try:
            self.signal(service, signal.SIGCONT)
        except (RuntimeError, OSError, ValueError):
            pass

    def stop_all(self) -> None:
        for service in ("cassandra", "zookeeper"):
            if service in self.started:
                self.stop(service)


@pytest.fixture(scope="session")
def private_services():
    """The session's private servers; each is started by the first test needing it."""
    services = PrivateServices()
    yield services
    services.stop_all()


@pytest.fixture(params=enabled_pairs(), ids=pair_id)
def any_pair(request) -> tuple[str, str]:
    return request.param


@pytest.fixture
def distributed_pair() -> tuple[str, str]:
    if DISTRIBUTED not in enabled_pairs():
        pytest.skip("LOCKSTEP_TEST_BACKENDS does not include cassandra and zookeeper")
    return DISTRIBUTED


def server_env(pair: tuple[str, str]) -> dict[str, str]:
    """Environment of a server under fault: private services, short sessions."""
    if pair != DISTRIBUTED:
        return {}
    return {
        "LOCKSTEP_ZOOKEEPER_HOSTS": ZOOKEEPER_HOSTS,
        "LOCKSTEP_CASSANDRA_PORT": PRIVATE_ENV["LOCKSTEP_CQL_PORT"],
        "LOCKSTEP_ZOOKEEPER_SESSION_TIMEOUT": str(SESSION_TIMEOUT),
    }


@pytest.fixture
def fault_server_factory(private_services, tmp_path):
    """Start a LiveServer of a pair, with the private services it needs."""
    servers = []

    def start(pair: tuple[str, str], **extra_env) -> LiveServer:
        if pair == DISTRIBUTED:
            private_services.start("zookeeper")
            private_services.start("cassandra")
        live = LiveServer(
            pair[0],
            pair[1],
            tmp_path / f"server-{len(servers)}",
            workers=3,
            extra_env={**server_env(pair), **extra_env},
        )
        servers.append(live)
        live.start(timeout=120)
        return live

    yield start
    for live in servers:
        live.stop()


# -- probes -------------------------------------------------------------------


@dataclass
class Probe:
    """A player with a game of its own, to send single requests during a fault."""

    url: str
    token: str
    game_id: str
    results: list[dict] = field(default_factory=list)

    @classmethod
    def create(cls, server: LiveServer) -> Probe:
        with requests.Session() as session:
            player = session.post(
                f"{server.url}/api/v1/players", json={"name": "probe"}, timeout=10
            ).json()
            headers = {"Authorization": f"Bearer {player['token']}"}
            game = session.post(
                f"{server.url}/api/v1/games",
                json={"ruleset": "lockstep", "seats": 2},
                headers=headers,
                timeout=10,
            ).json()
        return cls(server.url, player["token"], game["id"])

    def send(self, method: str, path: str, **kwargs) -> dict:
        """Send one request and return {status, seconds, retry_after, error}."""
        started = time.monotonic()
        outcome = {"method": method, "path": path, "status": None, "error": None}
        try:
            response = requests.request(
                method,
                f"{self.url}/api/v1/games/{self.game_id}{path}",
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=30,
                **kwargs,
            )
            outcome["status"] = response.status_code
            outcome["retry_after"] = response.headers.get("Retry-After")
            outcome["body"] = response.text[:300]
        except requests.RequestException as exc:
            outcome["error"] = repr(exc)
        outcome["seconds"] = round(time.monotonic() - started, 2)
        self.results.append(outcome)
        return outcome

    def write(self) -> dict:
        return self.send(
            "POST", "/chat", json={"text": f"probe {uuid.uuid4().hex[:8]}"}
        )

    def read(self) -> dict:
        return self.send("GET", "")

    def wait_for_write(self, bound: float) -> float:
        """Send writes until one succeeds; return the seconds it took.

        Fails the test when no write succeeds within `bound` seconds.
        """
        started = time.monotonic()
        while True:
            outcome = self.write()
            if outcome["status"] == 201:
                return time.monotonic() - started
            if time.monotonic() - started > bound:
                pytest.fail(
                    f"writes did not succeed within {bound} s after the service "
                    f"returned; last: {outcome}"
                )
            time.sleep(0.25)


def assert_fails_fast(outcome: dict) -> None:
    """Assert a request during an outage got 503 with Retry-After within the bound."""
    assert outcome["status"] == 503, outcome
    assert outcome["retry_after"] is not None, outcome
    assert outcome["seconds"] <= REQUEST_BOUND, outcome


# -- the harness under a fault ---------------------------------------------------


def start_harness(server: LiveServer, seconds: float, seed: int) -> Torture:
    torture = Torture(
        TortureConfig(base_url=server.url, seed=seed, phones=PHONES, duration=seconds)
    )
    torture.start()
    return torture


def finish_and_check(
    torture: Torture,
    server: LiveServer,
    report: dict,
    paused: tuple[float, float] | None = None,
) -> TortureResult:
    """Stop the harness, check its invariants and the request bound, and report.

    `paused` is the (start, end) in time.monotonic() of a pause of gunicorn
    workers. A request that overlaps it may have been in a paused worker,
    which cannot respond until it resumes, so its bound grows by the pause.
    """
    result = torture.finish()
    storage = open_server_storage(server)
    try:
        violations = check_all(result, storage)
    finally:
        storage.close()
    slow = [
        f"{r.method} {r.path} took {r.duration:.1f} s"
        for r in result.records
        if r.duration > request_bound(r, paused)
    ]
    report.update(result.summary())
    report["slow_requests"] = len(slow)
    print("fault report:", json.dumps(report))
    assert violations == [], "\n".join(violations[:30])
    assert slow == [], "\n".join(slow[:20])
    return result


def request_bound(record, paused: tuple[float, float] | None) -> float:
    """Return the seconds `record` may take: REQUEST_BOUND plus any overlapped pause."""
    if paused is None:
        return REQUEST_BOUND
    start, end = paused
    if record.started <= end and record.ended >= start:
        return REQUEST_BOUND + (end - start)
    return REQUEST_BOUND


def zookeeper_lock_nodes(server: LiveServer) -> dict[str, list[str]]:
    """Return {lock znode: contender children} under the server's lock root."""
    from kazoo.client import KazooClient
    from kazoo.exceptions import NoNodeError

    root = server.env["LOCKSTEP_ZOOKEEPER_ROOT"]
    client = KazooClient(hosts=ZOOKEEPER_HOSTS)
    client.start(timeout=15)
    try:
        try:
            names = client.get_children(root)
        except NoNodeError:
            return {}
        nodes = {}
        for name in names:
            try:
                nodes[name] = client.get_children(f"{root}/{name}")
            except NoNodeError:
                continue
        return nodes
    finally:
        client.stop()
        client.close()


def assert_no_lock_nodes_when_idle(
    server: LiveServer, wait: float = 20, sweep: bool = False
) -> None:
    """Assert that no lock znode stays under the root once requests have stopped.

    Contender nodes of an expired session go when ZooKeeper expires it, so
    this waits up to `wait` seconds for the tree to empty. A process killed
    while it was the last contender leaves an empty lock znode that only the
    worker's sweep deletes. With `sweep`, empty znodes left after the wait
    are swept the way the worker does, and none may remain after that.
    """
    deadline = time.monotonic() + wait
    nodes = zookeeper_lock_nodes(server)
    while nodes and time.monotonic() < deadline:
        time.sleep(0.5)
        nodes = zookeeper_lock_nodes(server)
    if sweep and nodes:
        assert all(children == [] for children in nodes.values()), nodes
        backend = ZooKeeperLockBackend(
            hosts=ZOOKEEPER_HOSTS, root=server.env["LOCKSTEP_ZOOKEEPER_ROOT"]
        )
        try:
            assert backend.sweep(min_age=0) == len(nodes)
        finally:
            backend.close()
        nodes = zookeeper_lock_nodes(server)
    assert nodes == {}, (
        f"{len(nodes)} lock znodes left, for example {list(nodes.items())[:5]}"
    )
