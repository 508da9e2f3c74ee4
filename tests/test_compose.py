"""docker-compose.yml sets only variables that Lockstep's code reads.

The compose file cannot run on the development machine (no Docker engine),
so this test is what keeps it from drifting away from the settings.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ["gameserver", "games", "chat", "players", "storage", "locking"]
# Variables read by the third-party images, not by Lockstep.
IMAGE_VARIABLES = {
    "cassandra": {"MAX_HEAP_SIZE", "HEAP_NEWSIZE", "CASSANDRA_CLUSTER_NAME"},
    "zookeeper": {"ZOO_4LW_COMMANDS_WHITELIST", "ZOO_ADMINSERVER_ENABLED"},
}


def variables_read_by_code() -> set[str]:
    names = set()
    for folder in SOURCE_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            found = re.findall(r"[\"'](LOCKSTEP_[A-Z0-9_]+)[\"']", path.read_text())
            names.update(found)
    return names


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_sets_only_variables_the_code_reads():
    read = variables_read_by_code()
    for name, service in compose()["services"].items():
        allowed = read | IMAGE_VARIABLES.get(name, set())
        unknown = set(service.get("environment", {})) - allowed
        assert not unknown, f"service {name} sets unread variables {sorted(unknown)}"


def test_compose_has_the_production_services():
    services = compose()["services"]
    assert {"cassandra", "zookeeper", "schema", "app"} <= set(services)


def test_compose_services_have_restart_policies():
    for name, service in compose()["services"].items():
        assert "restart" in service, f"service {name} has no restart policy"


def test_compose_long_running_services_have_health_checks():
    services = compose()["services"]
    for name in ("cassandra", "zookeeper", "app"):
        assert "healthcheck" in services[name], f"service {name} has no health check"


def test_compose_uses_named_volumes():
    config = compose()
    declared = set(config["volumes"])
    for name in ("cassandra", "zookeeper"):
        for volume in config["services"][name]["volumes"]:
            assert volume.split(":")[0] in declared, volume


def test_compose_runs_the_distributed_backends():
    app_env = compose()["services"]["app"]["environment"]
    assert app_env["LOCKSTEP_STORAGE"] == "cassandra"
    assert app_env["LOCKSTEP_LOCKS"] == "zookeeper"
