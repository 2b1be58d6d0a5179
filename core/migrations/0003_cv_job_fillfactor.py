"""Leave free space in CV and job pages so bookkeeping updates stay HOT.

Matching stamps every CV's last_matched_at, and statuses change on every stage. An update that finds
room on its page and changes no indexed column is a HOT update: it adds no index entries. Without
that room each such update also inserts into the HNSW index, which costs as much as a vector search.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("core", "0002_domain_models")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE core_cv SET (fillfactor = 70); ALTER TABLE core_job SET (fillfactor = 70);",
            reverse_sql="ALTER TABLE core_cv RESET (fillfactor); ALTER TABLE core_job RESET (fillfactor);",
        )
    ]
