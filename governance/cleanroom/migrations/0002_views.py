"""The clean room's three views and the read-only role that queries them.

The executor runs verified queries as `rmn_cleanroom_reader`, which may read these views and nothing else; the
views read the tables with their owner's rights. Creating a role needs CREATEROLE: where the database user lacks
it, the executor falls back to a read-only transaction (and says so in its logs)."""

from django.db import migrations

READER = "rmn_cleanroom_reader"
VIEWS = {
    "exposures": "SELECT user_key, campaign_id, placement, region, ts FROM cleanroom_exposure",
    "purchases": "SELECT user_key, gtin14, region, ts, units, revenue FROM cleanroom_purchase",
    "segments": "SELECT user_key, segment FROM cleanroom_segment",
}


def create(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for name, body in VIEWS.items():
            cursor.execute(f"CREATE OR REPLACE VIEW {name} AS {body}")
        cursor.execute("SELECT current_schema()")
        schema = cursor.fetchone()[0]
        cursor.execute(
            "DO $$ BEGIN "
            f"IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{READER}') THEN CREATE ROLE {READER} NOLOGIN; "
            "END IF; "
            f"GRANT USAGE ON SCHEMA \"{schema}\" TO {READER}; "
            f"GRANT SELECT ON {', '.join(VIEWS)} TO {READER}; "
            "EXCEPTION WHEN insufficient_privilege OR duplicate_object THEN NULL; END $$"
        )


def drop(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        for name in VIEWS:
            cursor.execute(f"DROP VIEW IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("cleanroom", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]
