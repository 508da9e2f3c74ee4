"""`python manage.py apply_schema`: create the Cassandra keyspace and tables."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import import_string

from storage.base import StorageError
from storage.cassandra import CassandraStorage


class Command(BaseCommand):
    help = (
        "Create the Cassandra keyspace named in LOCKSTEP_CASSANDRA_KEYSPACE and apply "
        "the CQL files of storage/cql/ that it does not have yet. Safe to run on "
        "every deploy and from several hosts at once. Does nothing for the SQLite "
        "backend, which creates its tables when it connects."
    )

    def handle(self, *args, **options):
        backend_path = settings.LOCKSTEP_STORAGE_BACKEND
        backend_class = import_string(backend_path)
        if not issubclass(backend_class, CassandraStorage):
            self.stdout.write(
                f"LOCKSTEP_STORAGE selects {backend_path}, which has no CQL schema "
                "to apply. Nothing to do."
            )
            return

        storage = backend_class(**settings.LOCKSTEP_STORAGE_OPTIONS)
        try:
            applied = storage.apply_schema()
        except StorageError as exc:
            raise CommandError(f"Applying the schema failed: {exc}") from exc
        finally:
            storage.close()

        if applied:
            self.stdout.write(
                f"Applied {', '.join(applied)} to keyspace {storage.keyspace}."
            )
        else:
            self.stdout.write(f"Keyspace {storage.keyspace} is up to date.")
