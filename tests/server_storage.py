"""Open the storage of a running LiveServer directly, as its workers do."""

from __future__ import annotations

import os
from unittest import mock

from django.utils.module_loading import import_string

from gameserver.config import storage_settings
from storage import Storage
from tests.live import ROOT, LiveServer


def open_server_storage(server: LiveServer) -> Storage:
    """Build a storage backend from the server's LOCKSTEP_* environment.

    The caller closes it.
    """
    lockstep_env = {
        name: value
        for name, value in server.env.items()
        if name.startswith("LOCKSTEP_")
    }
    with mock.patch.dict(os.environ, lockstep_env):
        dotted_path, options = storage_settings(ROOT)
    return import_string(dotted_path)(**options)
