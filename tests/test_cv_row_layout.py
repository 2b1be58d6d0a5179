"""A parsed, embedded CV's row leaves room on its page, so matching's stamp on it is an update in place.

Migration 0009: with the CV text and the parsed resume inline, one row filled its page and every match
wrote the CV's new version elsewhere, with an entry in every index of core_cv, the HNSW graph included.
"""

import random

import pytest
from django.db import connection, transaction

from core.matching.matcher import match_pending_cvs
from core.models import CV
from tests.pipeline_helpers import embedded_cv, embedded_job, unit_vector

pytestmark = pytest.mark.django_db


def _page_of(cv: CV) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT (ctid::text::point)[0]::int FROM core_cv WHERE id = %s", [cv.pk])
        return cursor.fetchone()[0]


def _storage(column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attstorage FROM pg_attribute WHERE attrelid = 'core_cv'::regclass AND attname = %s", [column]
        )
        return cursor.fetchone()[0]


def test_the_vector_stays_in_the_row_and_the_text_may_leave_it():
    assert _storage("embedding") == "m"  # MAIN: out of line only as a last resort
    assert _storage("raw_text") == "x" and _storage("parsed") == "x"  # EXTENDED: compressed, then out of line


@pytest.mark.django_db(transaction=True)  # committed, the row's earlier versions can be pruned, as in production
def test_matching_stamps_a_full_sized_cv_on_its_own_page():
    rng = random.Random(3)
    words = ["Python", "Django", "PostgreSQL", "Kubernetes", "led", "built", "migrated", "team", "services"]
    text = " ".join(rng.choice(words) + str(rng.randrange(10_000)) for _ in range(700))  # ~6 KB, like a real CV
    embedded_job(1, unit_vector(1))
    cv = embedded_cv(1, unit_vector(2))
    parsed = {"basics": {"name": "Ada", "summary": text[:3000]}, "work": [{"summary": text[3000:]}]}
    CV.objects.filter(pk=cv.pk).update(raw_text=text, parsed=parsed)
    page = _page_of(cv)

    with transaction.atomic():  # so that the statistics of this transaction can be read
        assert match_pending_cvs(workers=1).cvs == 1
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_stat_get_xact_tuples_updated('core_cv'::regclass),"
                " pg_stat_get_xact_tuples_hot_updated('core_cv'::regclass)"
            )
            updates, hot_updates = cursor.fetchone()
    cv.refresh_from_db()
    assert cv.matched_in_id is not None
    # Every update heap-only: no new entry in any index of core_cv, the HNSW graph included.
    assert updates >= 1 and hot_updates == updates
    assert _page_of(cv) == page
