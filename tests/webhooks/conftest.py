"""In-process services on a private SQLite file, with webhooks turned on."""

from __future__ import annotations

import pytest
from django.test import override_settings

from locking import reset_lock_backend
from storage import reset_storage
from tests.webhook_receiver import WebhookReceiver

SECRET = "test-webhook-secret"


@pytest.fixture
def receiver():
    receiver = WebhookReceiver(SECRET).start()
    yield receiver
    receiver.stop()


@pytest.fixture
def services_with_webhooks(tmp_path, receiver):
    """Point the services at fresh embedded backends and the test receiver."""
    overrides = override_settings(
        LOCKSTEP_STORAGE_BACKEND="storage.sqlite.SQLiteStorage",
        LOCKSTEP_STORAGE_OPTIONS={"path": str(tmp_path / "lockstep.sqlite3")},
        LOCKSTEP_LOCK_BACKEND="locking.local.FileLockBackend",
        LOCKSTEP_LOCK_OPTIONS={"directory": str(tmp_path / "locks")},
        LOCKSTEP_WEBHOOK_URL=receiver.url,
        LOCKSTEP_WEBHOOK_SECRET=SECRET,
    )
    with overrides:
        reset_storage()
        reset_lock_backend()
        try:
            yield receiver
        finally:
            reset_storage()
            reset_lock_backend()
