"""The embedded default's SQLite file: how it is opened (issue #16)."""

import pytest
from django.db import connection
from django.db.backends.sqlite3.base import DatabaseWrapper


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the embedded default's SQLite only")
def test_the_sqlite_file_runs_in_wal_with_every_commit_flushed(tmp_path):
    """WAL: the web server reads while a Celery task writes, and a commit writes the log once;
    synchronous=FULL: a commit is on disk when it returns, so nothing committed is lost."""
    probe = DatabaseWrapper(
        {**connection.settings_dict, "NAME": str(tmp_path / "reserve.sqlite3")}, alias="probe"
    )
    raw = probe.get_new_connection(probe.get_connection_params())  # as Django opens it
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    finally:
        raw.close()
