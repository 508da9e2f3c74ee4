"""Fixtures for the concurrency tests: direct access to the live server's storage."""

from __future__ import annotations

import os
from unittest import mock

import pytest
from django.utils.module_loading import import_string

from gameserver.config import storage_settings
from tests.live import ROOT


@pytest.fixture
def server_storage(server):
    """A storage backend built from the same settings as the live server's workers."""
    lockstep_env = {
        name: value
        for name, value in server.env.items()
        if name.startswith("LOCKSTEP_")
    }
    with mock.patch.dict(os.environ, lockstep_env):
        dotted_path, options = storage_settings(ROOT)
    storage = import_string(dotted_path)(**options)
    yield storage
    storage.close()
