"""The fact tables keep `id` (batch << 32 | line, unique by construction; a sequence for the campaign-day rollup)
without a btree primary-key index.

Loads append ids in increasing order, so a BRIN index on id serves lookups by id or batch for a few kB, while the
btree cost about a second per million rows on every load (benchmarks/ingest.py).
"""

import django.contrib.postgres.indexes
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0002_rmiscampaignday'),
    ]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE campaigns_rmisevent DROP CONSTRAINT campaigns_rmisevent_pkey",
            "ALTER TABLE campaigns_rmisevent ADD PRIMARY KEY (id)",
        ),
        migrations.RunSQL(
            "ALTER TABLE campaigns_rmissalesfact DROP CONSTRAINT campaigns_rmissalesfact_pkey",
            "ALTER TABLE campaigns_rmissalesfact ADD PRIMARY KEY (id)",
        ),
        migrations.RunSQL(
            "ALTER TABLE campaigns_rmiscampaignday DROP CONSTRAINT campaigns_rmiscampaignday_pkey",
            "ALTER TABLE campaigns_rmiscampaignday ADD PRIMARY KEY (id)",
        ),
        migrations.AddIndex(
            model_name='rmiscampaignday',
            index=django.contrib.postgres.indexes.BrinIndex(fields=['id'], name='campaignday_id_brin'),
        ),
        migrations.AddIndex(
            model_name='rmisevent',
            index=django.contrib.postgres.indexes.BrinIndex(fields=['id'], name='rmisevent_id_brin'),
        ),
        migrations.AddIndex(
            model_name='rmissalesfact',
            index=django.contrib.postgres.indexes.BrinIndex(fields=['id'], name='rmissales_id_brin'),
        ),
    ]
