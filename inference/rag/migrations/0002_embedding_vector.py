"""The chunk embedding as a pgvector column: `vector(384)`, searched by cosine distance (`<=>`).

pgserver's Postgres ships pgvector; a system Postgres needs the `postgresql-<major>-pgvector` package and a role
allowed to create the extension. The extension is left in place on reverse: other tables may use it.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("rag", "0001_initial")]

    operations = [
        migrations.RunSQL("CREATE EXTENSION IF NOT EXISTS vector", migrations.RunSQL.noop),
        migrations.RunSQL(
            "ALTER TABLE rag_knowledgechunk ADD COLUMN embedding vector(384)",  # all-MiniLM-L6-v2's dimensions
            "ALTER TABLE rag_knowledgechunk DROP COLUMN embedding",
        ),
    ]
