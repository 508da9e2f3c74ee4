"""Property-based run of schemathesis over every operation of the served schema.

schemathesis (pinned in pyproject.toml) loads GET /api/v1/schema from a
server of the current backend pair, generates requests for every operation
from the schema, valid and invalid, and checks each response: no 5xx, a
status the schema lists for that operation, the documented content type,
headers and body. Path ids come from real games half of the time, so the
requests reach the game logic instead of stopping at 404.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import Api
from tests.live import LiveServer

# Test cases per operation and phase, and the seed that makes a run repeatable.
MAX_EXAMPLES = 30
SEED = 20240601
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)
# Seconds the whole run may take; a run of 12 operations took under 30 s on
# a 2-core machine.
RUN_TIMEOUT = 300


@pytest.fixture(scope="module")
def fuzz_server(server, tmp_path_factory):
    """A server of the current pair whose rate limits leave the fuzzer alone."""
    live = LiveServer(
        server.storage,
        server.locks,
        tmp_path_factory.mktemp("schemathesis"),
        workers=2,
        extra_env={"LOCKSTEP_RATE_MOVES": "off", "LOCKSTEP_RATE_CHAT": "off"},
    )
    live.start()
    yield live
    live.stop()


def write_config(path: Path, game_ids: list[str]) -> None:
    """Write a schemathesis.toml that draws game ids and turns from real data."""
    ids = ", ".join(f'"{game_id}"' for game_id in game_ids)
    path.write_text(
        "[dictionaries.games]\n"
        f"values = [{ids}]\n"
        "[dictionaries.turns]\n"
        "values = [0, 1, 2, 3]\n"
        "[parameters]\n"
        '"path.game_id" = { dictionary = "games", probability = 0.5 }\n'
        '"path.turn" = { dictionary = "turns", probability = 0.5 }\n'
    )


def test_schemathesis_finds_no_violation(fuzz_server, tmp_path):
    api = Api(fuzz_server.url)
    player = api.new_player("fuzzer")
    rival = api.new_player("rival")
    active, _ = api.started_game("lockstep", 2)
    own_active = api.new_game(player["token"], "lockstep", 2)
    api.join(rival["token"], own_active["id"])
    own_waiting = api.new_game(player["token"], "rps", 2)
    api.close()
    config = tmp_path / "schemathesis.toml"
    write_config(config, [active["id"], own_active["id"], own_waiting["id"]])

    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(config),
        "--no-color",
        "run",
        f"{fuzz_server.url}/api/v1/schema",
        "--header",
        f"Authorization: Bearer {player['token']}",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--checks",
        CHECKS,
        "--workers",
        "1",
        "--request-timeout",
        "20",
    ]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=RUN_TIMEOUT, cwd=tmp_path
    )

    output = result.stdout + result.stderr
    print(output[-3000:])
    assert result.returncode == 0, output[-8000:]
    counts = re.search(r"(\d+) generated, (\d+) passed", output)
    assert counts is not None, output[-3000:]
    assert counts.group(1) == counts.group(2), counts.group(0)
    assert "Operations:       " in output
    assert re.search(r"Tested: (\d+)", output).group(1) == re.search(
        r"Selected: (\d+)/", output
    ).group(1)
