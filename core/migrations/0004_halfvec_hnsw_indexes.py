"""HNSW cosine indexes on both embedding columns, over the vectors cast to half precision.

Written in SQL: Django can express neither an operator class on a cast expression nor the
parenthesisation PostgreSQL needs for it. See core.models.HNSW_INDEXES for why halfvec.
"""

from django.conf import settings
from django.db import migrations

DIMENSIONS = settings.EMBEDDING_DIMENSIONS


def _create(table: str, name: str) -> str:
    return (
        f"CREATE INDEX {name} ON {table} USING hnsw ((embedding::halfvec({DIMENSIONS})) halfvec_cosine_ops)"
        " WITH (m = 16, ef_construction = 64)"
    )


class Migration(migrations.Migration):
    dependencies = [("core", "0003_cv_job_storage")]

    operations = [
        migrations.RunSQL(_create("core_cv", "cv_embedding_hnsw"), reverse_sql="DROP INDEX cv_embedding_hnsw"),
        migrations.RunSQL(_create("core_job", "job_embedding_hnsw"), reverse_sql="DROP INDEX job_embedding_hnsw"),
    ]
