"""The layer every driver of the pipeline goes through: the registry of kinds and the rules between steps.

Celery beat, ``run_pipeline`` and the operator commands must follow the same rules; these tests run
the Celery task bodies directly (a real worker runs them in test_celery_worker.py) against the real
database and the real mock engine.
"""

import pytest
from django.db import models

from core import models as domain
from core import tasks
from core.batches.registry import all_kinds, get_kind, register
from core.models import CV, BatchJob, EmbeddingStatus, ParseStatus, Prediction
from core.operations import batches as operations
from core.operations.rows import reembed_cvs, reparse_cvs
from core.selectors.progress import pending_counts, stage_progress
from core.workflow import steps
from tests.pipeline_helpers import embedded_cv, embedded_job, make_cv, make_job, mock_service, unit_vector

PIPELINE_ORDER = ["cv_parse", "cv_embedding", "job_embedding", "explanation", "candidate_explanation"]


def _status_field(spec) -> models.Field:
    return spec.model._meta.get_field(spec.state.status)


class TestRegistry:
    def test_the_kinds_are_registered_in_pipeline_order(self):
        assert list(all_kinds()) == PIPELINE_ORDER
        assert [spec.kind for spec in all_kinds().values()] == PIPELINE_ORDER
        assert list(domain.BatchKind.values) == PIPELINE_ORDER

    def test_each_kinds_work_states_are_choices_of_its_status_column(self):
        # The status enums stay literal (migrations need them); this keeps them in step with the kinds.
        for spec in all_kinds().values():
            field = _status_field(spec)
            choices = {value for value, _ in field.choices}
            state = spec.state
            assert {state.pending, state.queued, state.done, state.failed} == choices, spec.kind
            assert field.default == state.pending, spec.kind
            for column in (state.attempts, state.error):
                spec.model._meta.get_field(column)

    def test_a_kind_is_registered_once(self):
        with pytest.raises(ValueError, match="already registered"):
            register(get_kind("cv_parse"))
        with pytest.raises(ValueError, match="unknown batch kind 'nope'; expected one of cv_parse, cv_embedding"):
            get_kind("nope")

    @pytest.mark.django_db
    def test_per_stage_lists_come_from_the_registry(self):
        assert list(pending_counts()) == PIPELINE_ORDER
        labels = [stage.name for stage in stage_progress()]
        assert labels == ["parse CVs", "embed CVs", "embed jobs", "match CVs", "explain matches", "explain candidates"]

    def test_every_kind_builds_its_request_for_the_model_its_batch_records(self, settings):
        settings.CHAT_MODEL = "gpt-4.1-mini"
        settings.EMBEDDING_MODEL = "text-embedding-3-large"
        cv = CV(pk=1, source_name="a.txt", raw_text="Ada Lovelace\nPython", parsed={"basics": {"name": "Ada"}})
        job = domain.Job(pk=2, title="Engineer", skills=["Python"])
        rows = {
            "cv": cv,
            "job": job,
            "prediction": Prediction(pk=3, cv=cv, job=job, score=0.5, rank=1),
            "candidate": domain.CandidateExplanation(pk=4, cv=cv, job=job, score=0.5),
        }
        for spec in all_kinds().values():
            assert spec.build_body(rows[spec.item_field])["model"] == spec.model_name(), spec.kind


@pytest.mark.django_db(transaction=True)
class TestCeleryTasks:
    def test_matching_waits_until_job_embeddings_have_settled(self, monkeypatch):
        """Under beat, a CV matched before the last jobs are embedded is matched (and explained) twice."""
        embedded_cv(1, unit_vector(1))
        embedded_job(1, unit_vector(1))
        late = make_job(2, "Late Job", ["Python"])  # still pending its embedding
        assert tasks.match_cvs() == 0
        assert not Prediction.objects.exists()

        late.embedding, late.embedding_status = unit_vector(2), EmbeddingStatus.EMBEDDED
        late.save()
        assert tasks.match_cvs() == 1
        assert Prediction.objects.filter(cv__source_name="cv-1.txt").count() == 2

    def test_one_submit_task_submits_every_kind_in_pipeline_order(self, monkeypatch):
        service = mock_service()
        monkeypatch.setattr(tasks, "BatchService", lambda: service)
        make_cv(1)
        make_job(1, "Backend Engineer", ["Python"])
        assert tasks.submit_batches() == 2
        assert list(BatchJob.objects.order_by("pk").values_list("kind", flat=True)) == ["cv_parse", "job_embedding"]
        assert tasks.submit_batches() == 0  # nothing left pending: safe to run again
        assert tasks.poll_batches() == 2


@pytest.mark.django_db
class TestOperations:
    def test_redo_sends_rows_through_a_stage_again_even_from_a_batch_in_flight(self):
        done = make_cv(1, parse_status=ParseStatus.PARSED, parse_attempts=2, parse_error="old")
        queued = make_cv(2, parse_status=ParseStatus.QUEUED, parse_attempts=1)
        assert reparse_cvs(CV.objects.all()) == 2
        for cv in (done, queued):
            cv.refresh_from_db()
            fields = (cv.parse_status, cv.parse_attempts, cv.parse_error, cv.parse_version)
            assert fields == (ParseStatus.PENDING, 0, "", 1)
        assert reembed_cvs(CV.objects.filter(pk=done.pk)) == 1
        done.refresh_from_db()
        assert (done.embedding_status, done.embedding_version) == (EmbeddingStatus.PENDING, 1)

    @pytest.mark.parametrize(
        "fields, allowed",
        [
            ({"status": "in_progress"}, {"poll", "cancel"}),
            ({"status": "completed"}, {"poll", "reingest"}),
            ({"status": "completed", "ingested": True, "total": 3, "completed": 3}, {"reingest"}),
            ({"status": "completed", "ingested": True, "total": 3, "completed": 2, "failed": 1},
             {"reingest", "retry_failed"}),
            ({"status": "cancelled", "ingested": True, "total": 3, "completed": 1}, {"reingest", "retry_failed"}),
        ],
    )
    def test_which_operation_applies_to_which_batch(self, fields, allowed):
        from django.utils import timezone

        ingested = fields.pop("ingested", False)
        batch = BatchJob(kind="cv_parse", provider_batch_id="batch_x", ingested_at=timezone.now() if ingested else None,
                         **fields)
        assert {name for name in operations.OPERATIONS if operations.refusal(name, batch) is None} == allowed
        for name in set(operations.OPERATIONS) - allowed:
            with pytest.raises(operations.NotApplicable, match=r"^cv_parse batch_x: "):
                operations._check(name, batch)


@pytest.mark.django_db
def test_the_submit_step_lets_every_kind_have_its_turn_before_reporting_a_refusal():
    import openai

    service = mock_service()
    make_cv(1)
    make_job(1, "Backend Engineer", ["Python"])
    create = service.create_batch

    def refuse_chat(input_file_id, endpoint, **options):  # the provider refuses the parse batch only
        if endpoint == "/v1/chat/completions":
            raise openai.APIConnectionError(request=None)
        return create(input_file_id, endpoint, **options)

    service.create_batch = refuse_chat
    with pytest.raises(openai.APIConnectionError):
        steps.submit(service, PIPELINE_ORDER)
    assert list(BatchJob.objects.values_list("kind", flat=True)) == ["job_embedding"]
    assert CV.objects.get().parse_status == ParseStatus.PENDING  # nothing queued for the refused kind
