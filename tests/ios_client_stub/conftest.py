"""Fixtures for the client stub tests: a scripted HTTP server and a fake clock."""

from __future__ import annotations

import pytest

from tests.ios_client_stub.scripted_http import FakeClock, ScriptedServer


@pytest.fixture
def scripted_server():
    server = ScriptedServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()
