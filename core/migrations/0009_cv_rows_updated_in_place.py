"""CV rows small enough to be updated in place: the CV text and its JSON Resume go out of line, the vector
stays in the row.

Migration 0003 set fillfactor 70 so that matching's stamp on every CV (last_matched_at, matched_in) finds
room on the row's page and is a HOT update, which adds no index entries. But with its 768-dimension
vector (3 KB), its text and its parsed resume (a few KB each) all kept inline up to the 8 KB
toast_tuple_target, a parsed CV fills its page alone: no room is left, every stamp wrote the new row
version to another page and an entry into every index of core_cv, the HNSW graph included. EXPLAIN
(ANALYZE, BUFFERS) of one 500-CV match statement over bench_pipeline's CVs: 210 ms, of which 128 ms the
UPDATE of core_cv (463,000 buffer hits); with this layout 77 ms, the UPDATE 3 ms (docs/BENCHMARKS.md).

So the row is cut down to the vector and the small columns: the vector's storage is MAIN (compressed or
moved out of line only as a last resort) and the target is what the vector and those columns take, so
PostgreSQL compresses and then moves the text and the resume out of line first. Reading them costs a
TOAST lookup, once per CV and stage; the vector, which matching and the candidate search read for
every row they rank, stays in the row. Rows written before this keep their layout until next updated.

Only where it helps: an in-place update puts the new version beside the old one, so two rows must fit
on a page, which holds up to about 890 dimensions. With larger vectors (1,024, 1,536) a row fills its
page whatever is moved out, and this migration changes nothing. The dimensions are read when it runs,
as migration 0004's indexes are: a later change of EMBEDDING_DIMENSIONS needs both made again.
"""

from django.conf import settings
from django.db import migrations

VECTOR_BYTES = 4 * settings.EMBEDDING_DIMENSIONS + 8
SMALL_COLUMNS_BYTES = 500  # names, hash, statuses, short errors, timestamps (about 300 in practice)
TARGET = VECTOR_BYTES + SMALL_COLUMNS_BYTES
PAGE_ROOM_BYTES = 8000  # an 8 KB page less its header and line pointers
TWO_ROWS_FIT = 2 * TARGET <= PAGE_ROOM_BYTES

LAYOUT = (
    "ALTER TABLE core_cv ALTER COLUMN embedding SET STORAGE MAIN;"
    f"ALTER TABLE core_cv SET (toast_tuple_target = {TARGET});"
)
# pgvector's default storage for vector, and migration 0003's target.
PREVIOUS = "ALTER TABLE core_cv ALTER COLUMN embedding SET STORAGE EXTERNAL;ALTER TABLE core_cv SET (toast_tuple_target = 8160);"


class Migration(migrations.Migration):
    dependencies = [("core", "0008_matched_in_unindexed")]

    operations = [
        migrations.RunSQL(LAYOUT, reverse_sql=PREVIOUS)
        if TWO_ROWS_FIT
        else migrations.RunSQL(migrations.RunSQL.noop, reverse_sql=migrations.RunSQL.noop)
    ]
