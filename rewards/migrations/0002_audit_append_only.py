"""The audit log is append-only in the database: an UPDATE of a row is refused by a trigger,
whatever the code path (ORM, shell, raw SQL)."""

from django.db import migrations

POSTGRESQL = """
CREATE OR REPLACE FUNCTION rewards_audit_refuse_update() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'rewards_auditentry is append-only: rows are never updated';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER rewards_audit_no_update BEFORE UPDATE ON rewards_auditentry
    FOR EACH ROW EXECUTE FUNCTION rewards_audit_refuse_update();
"""
POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS rewards_audit_no_update ON rewards_auditentry;
DROP FUNCTION IF EXISTS rewards_audit_refuse_update();
"""
SQLITE = """
CREATE TRIGGER rewards_audit_no_update BEFORE UPDATE ON rewards_auditentry
BEGIN
    SELECT RAISE(ABORT, 'rewards_auditentry is append-only: rows are never updated');
END;
"""
SQLITE_DROP = "DROP TRIGGER IF EXISTS rewards_audit_no_update;"


def create(apps, schema_editor):
    schema_editor.execute(POSTGRESQL if schema_editor.connection.vendor == "postgresql" else SQLITE)


def drop(apps, schema_editor):
    schema_editor.execute(POSTGRESQL_DROP if schema_editor.connection.vendor == "postgresql" else SQLITE_DROP)


class Migration(migrations.Migration):
    dependencies = [("rewards", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
