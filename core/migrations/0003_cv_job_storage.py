"""Storage parameters of the CV and job tables, for the matcher's sake.

fillfactor 70: matching stamps every CV's last_matched_at and statuses change at every stage. An
update that finds room on its page and changes no indexed column is a HOT update and adds no index
entries; without that room each such update also inserts into the HNSW index, which costs as much
as a vector search.

toast_tuple_target 8160: a 768-dimension vector is 3 KB, over the default 2 KB at which PostgreSQL
moves values out of line into the TOAST table. Every match reads the full vectors of the jobs the
HNSW index proposes; kept in the row, they cost one page read instead of a TOAST index lookup and
two more reads, which halves the time per CV (docs/BENCHMARKS.md).
"""

from django.db import migrations

TABLES = ("core_cv", "core_job")


class Migration(migrations.Migration):
    dependencies = [("core", "0002_domain_models")]

    operations = [
        migrations.RunSQL(
            "".join(f"ALTER TABLE {table} SET (fillfactor = 70, toast_tuple_target = 8160);" for table in TABLES),
            reverse_sql="".join(f"ALTER TABLE {table} RESET (fillfactor, toast_tuple_target);" for table in TABLES),
        )
    ]
