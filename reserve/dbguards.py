"""Database triggers that refuse UPDATE and DELETE on rows that must never change
(posted journal entries, postings, lot movements, the audit journal, recorded decisions),
even from raw SQL. Installed by migrations on PostgreSQL and SQLite.

On SQLite the trigger asks the function ``reserve_guard_active()``, registered on every
connection the application opens; it answers 1 except inside :func:`maintenance`, which only
the test-database ``flush`` command uses. A connection without the function (the sqlite3
shell, another program) gets an error, so the write is refused there too. On PostgreSQL the
row triggers have no exception; ``TRUNCATE`` (used by the test flush) is not a row operation.
"""

import contextlib

from django.db.backends.signals import connection_created

_maintenance_depth = 0


@contextlib.contextmanager
def maintenance():
    global _maintenance_depth
    _maintenance_depth += 1
    try:
        yield
    finally:
        _maintenance_depth -= 1


def _guard_active() -> int:
    return 0 if _maintenance_depth else 1


def _register(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function("reserve_guard_active", 0, _guard_active, deterministic=False)


def install_sqlite_functions() -> None:
    connection_created.connect(_register, dispatch_uid="reserve.dbguards.sqlite")


def guard_sql(vendor: str, table: str) -> list[str]:
    if vendor == "postgresql":
        return [
            f"""
            CREATE OR REPLACE FUNCTION {table}_immutable() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION USING
                    MESSAGE = TG_OP || ' on {table} refused: rows are immutable',
                    ERRCODE = 'integrity_constraint_violation';
            END;
            $$ LANGUAGE plpgsql;
            """,
            f"DROP TRIGGER IF EXISTS {table}_immutable ON {table};",
            f"""CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION {table}_immutable();""",
        ]
    if vendor == "sqlite":
        return [
            f"DROP TRIGGER IF EXISTS {table}_no_update;",
            f"DROP TRIGGER IF EXISTS {table}_no_delete;",
            f"""CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
                WHEN reserve_guard_active() BEGIN
                SELECT RAISE(ABORT, 'UPDATE on {table} refused: rows are immutable'); END;""",
            f"""CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
                WHEN reserve_guard_active() BEGIN
                SELECT RAISE(ABORT, 'DELETE on {table} refused: rows are immutable'); END;""",
        ]
    raise NotImplementedError(vendor)


def unguard_sql(vendor: str, table: str) -> list[str]:
    if vendor == "postgresql":
        return [
            f"DROP TRIGGER IF EXISTS {table}_immutable ON {table};",
            f"DROP FUNCTION IF EXISTS {table}_immutable();",
        ]
    return [f"DROP TRIGGER IF EXISTS {table}_no_update;", f"DROP TRIGGER IF EXISTS {table}_no_delete;"]


def install_guards(tables: list[str]):
    """A migration operation installing the guards on ``tables`` for the current database."""
    from django.db import migrations

    def forwards(apps, schema_editor):
        for table in tables:
            for sql in guard_sql(schema_editor.connection.vendor, table):
                schema_editor.execute(sql)

    def backwards(apps, schema_editor):
        for table in tables:
            for sql in unguard_sql(schema_editor.connection.vendor, table):
                schema_editor.execute(sql)

    return migrations.RunPython(forwards, backwards)


TERMINAL_STATUSES = ("executed", "rejected", "expired", "cancelled")


def request_guard_sql(vendor: str) -> list[str]:
    """A closed approval request never reopens and its action never changes; no request is
    deleted. (An executed request set back to pending could otherwise execute again.)"""
    statuses = ", ".join(f"'{s}'" for s in TERMINAL_STATUSES)
    table = "reserve_approvalrequest"
    if vendor == "postgresql":
        return [
            f"""
            CREATE OR REPLACE FUNCTION {table}_closed() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'DELETE' THEN
                    RAISE EXCEPTION USING MESSAGE = 'DELETE on {table} refused: requests are kept',
                        ERRCODE = 'integrity_constraint_violation';
                END IF;
                IF OLD.status IN ({statuses}) AND (
                    NEW.status IS DISTINCT FROM OLD.status
                    OR NEW.payload IS DISTINCT FROM OLD.payload
                    OR NEW.payload_digest IS DISTINCT FROM OLD.payload_digest) THEN
                    RAISE EXCEPTION USING MESSAGE = 'UPDATE on {table} refused: a closed request is immutable',
                        ERRCODE = 'integrity_constraint_violation';
                END IF;
                RETURN NEW;
            END;
            $$ LANGUAGE plpgsql;
            """,
            f"DROP TRIGGER IF EXISTS {table}_closed ON {table};",
            f"""CREATE TRIGGER {table}_closed BEFORE UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION {table}_closed();""",
        ]
    if vendor == "sqlite":
        return [
            f"DROP TRIGGER IF EXISTS {table}_closed_update;",
            f"DROP TRIGGER IF EXISTS {table}_no_delete;",
            f"""CREATE TRIGGER {table}_closed_update BEFORE UPDATE ON {table}
                WHEN reserve_guard_active() AND OLD.status IN ({statuses}) AND (
                    NEW.status IS NOT OLD.status OR NEW.payload IS NOT OLD.payload
                    OR NEW.payload_digest IS NOT OLD.payload_digest)
                BEGIN SELECT RAISE(ABORT, 'UPDATE on {table} refused: a closed request is immutable'); END;""",
            f"""CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
                WHEN reserve_guard_active() BEGIN
                SELECT RAISE(ABORT, 'DELETE on {table} refused: requests are kept'); END;""",
        ]
    raise NotImplementedError(vendor)


def install_request_guard():
    from django.db import migrations

    def forwards(apps, schema_editor):
        for sql in request_guard_sql(schema_editor.connection.vendor):
            schema_editor.execute(sql)

    def backwards(apps, schema_editor):
        table = "reserve_approvalrequest"
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_closed ON {table};")
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {table}_closed();")
        else:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_closed_update;")
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete;")

    return migrations.RunPython(forwards, backwards)


def deactivation_revokes_sql(vendor: str, user_table: str) -> list[str]:
    """Deactivating a user revokes their approver memberships, however the row is updated: one
    user in the admin, a bulk ``update(is_active=False)``, or raw SQL. (The engine ignores
    inactive users anyway; revoking means re-activation does not quietly restore approval
    power.) The audit event is written by the application where it can see who acted."""
    memberships = "reserve_approvermembership"
    # Table names come from model metadata, never from input.
    if vendor == "postgresql":
        return [
            f"""
            CREATE OR REPLACE FUNCTION {user_table}_revoke_on_deactivation() RETURNS trigger AS $$
            BEGIN
                UPDATE {memberships} SET revoked_at = now()
                 WHERE user_id = NEW.id AND revoked_at IS NULL;
                RETURN NEW;
            END;
            $$ LANGUAGE plpgsql;
            """,
            f"DROP TRIGGER IF EXISTS {user_table}_revoke_on_deactivation ON {user_table};",
            f"""CREATE TRIGGER {user_table}_revoke_on_deactivation AFTER UPDATE OF is_active ON {user_table}
                FOR EACH ROW WHEN (OLD.is_active AND NOT NEW.is_active)
                EXECUTE FUNCTION {user_table}_revoke_on_deactivation();""",
        ]
    if vendor == "sqlite":
        return [
            f"DROP TRIGGER IF EXISTS {user_table}_revoke_on_deactivation;",
            f"""CREATE TRIGGER {user_table}_revoke_on_deactivation AFTER UPDATE OF is_active ON {user_table}
                WHEN OLD.is_active AND NOT NEW.is_active BEGIN
                UPDATE {memberships} SET revoked_at = strftime('%Y-%m-%d %H:%M:%f', 'now')
                 WHERE user_id = NEW.id AND revoked_at IS NULL; END;""",
        ]
    raise NotImplementedError(vendor)


def install_deactivation_revokes():
    from django.conf import settings
    from django.db import migrations

    def forwards(apps, schema_editor):
        table = apps.get_model(settings.AUTH_USER_MODEL)._meta.db_table
        for sql in deactivation_revokes_sql(schema_editor.connection.vendor, table):
            schema_editor.execute(sql)

    def backwards(apps, schema_editor):
        table = apps.get_model(settings.AUTH_USER_MODEL)._meta.db_table
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_revoke_on_deactivation ON {table};")
            schema_editor.execute(f"DROP FUNCTION IF EXISTS {table}_revoke_on_deactivation();")
        else:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_revoke_on_deactivation;")

    return migrations.RunPython(forwards, backwards)
