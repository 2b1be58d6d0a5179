"""Batch operations: the BatchService switch and flows, and what the mock answers (issue 3).

The seed's guide asks for these two classes; the mock engine's fidelity rules are tested in
test_mock_engine.py, the storage in test_mock_storage.py and the HTTP API in test_mock_http_api.py.
"""

import base64
import logging
import subprocess
import sys

import jsonschema
import numpy as np
import openai
import orjson
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from core.mock_openai.client import MockOpenAIClient
from core.services import batch_service
from core.services.batch_service import NOT_INITIALIZED, BatchLimitExceeded, BatchService
from core.services.openai_limits import MAX_REQUESTS_PER_BATCH
from tests.mock_batch_helpers import (
    REPO,
    by_custom_id,
    chat_request,
    decode_embedding,
    embedding_request,
    respond,
    sample_cv,
)

SECRET = "sk-test-never-shown-0123456789"


class TestBatchService:
    def test_mock_when_no_key_and_no_switch(self, settings):
        settings.USE_MOCK_BATCH, settings.OPENAI_API_KEY = None, None
        service = BatchService()
        assert service.backend == "mock"
        assert isinstance(service.client, MockOpenAIClient)
        assert service.client.root == settings.MOCK_BATCH_DIR

    def test_use_mock_batch_true_wins_over_a_key(self, settings):
        settings.USE_MOCK_BATCH, settings.OPENAI_API_KEY = True, SECRET
        assert BatchService().backend == "mock"

    def test_argument_wins_over_settings(self, settings):
        settings.USE_MOCK_BATCH, settings.OPENAI_API_KEY = False, SECRET
        assert BatchService(use_mock=True).backend == "mock"

    def test_openai_client_with_key_and_base_url(self, settings):
        settings.USE_MOCK_BATCH, settings.OPENAI_API_KEY = None, SECRET
        settings.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"
        service = BatchService()
        assert service.backend == "openai"
        assert isinstance(service.client, openai.OpenAI)
        assert str(service.client.base_url).startswith("http://127.0.0.1:9/v1")

    def test_real_backend_without_key_fails_at_construction(self, settings):
        settings.USE_MOCK_BATCH, settings.OPENAI_API_KEY = False, None
        with pytest.raises(ImproperlyConfigured, match=NOT_INITIALIZED):
            BatchService()

    def test_backend_is_logged_once_and_the_key_never(self, settings, caplog, monkeypatch):
        monkeypatch.setattr(batch_service, "_announced", set())
        settings.USE_MOCK_BATCH, settings.OPENAI_API_KEY = None, SECRET
        with caplog.at_level(logging.INFO, logger="core.services.batch_service"):
            BatchService()
            BatchService()
        messages = [record.getMessage() for record in caplog.records]
        assert len(messages) == 1 and messages[0].startswith("Batch API backend: openai")
        assert SECRET not in caplog.text

    def test_batch_backend_command(self, settings, capsys):
        settings.USE_MOCK_BATCH, settings.OPENAI_API_KEY = False, SECRET
        call_command("batch_backend")
        out = capsys.readouterr().out
        assert "Batch API backend: openai" in out and SECRET not in out
        settings.USE_MOCK_BATCH = None
        settings.OPENAI_API_KEY = None
        call_command("batch_backend")
        assert "Batch API backend: mock" in capsys.readouterr().out

    def test_write_batch_file_streams_and_counts(self, tmp_path):
        requests = (embedding_request(f"e-{i}", ["alpha beta", "gamma"] if i % 2 else "delta " * 8) for i in range(10))
        stats = BatchService.write_batch_file(requests, tmp_path / "in" / "batch.jsonl")
        lines = stats.path.read_bytes().splitlines()
        assert (stats.requests, len(lines), stats.bytes) == (10, 10, stats.path.stat().st_size)
        assert stats.embedding_inputs == 5 * 2 + 5 and stats.est_tokens > 0
        assert orjson.loads(lines[0])["custom_id"] == "e-0"

    def test_write_batch_file_refuses_past_the_limit_and_leaves_nothing(self, tmp_path):
        requests = (embedding_request(f"e-{i}", "x") for i in range(MAX_REQUESTS_PER_BATCH + 1))
        with pytest.raises(BatchLimitExceeded):
            BatchService.write_batch_file(requests, tmp_path / "batch.jsonl")
        assert list(tmp_path.iterdir()) == []

    def test_full_flow_on_the_mock(self, mock_client_factory, tmp_path):
        service = BatchService(client=mock_client_factory(failure_rate=0.2, seed=3))
        requests = [
            embedding_request(f"cv-{i}", f"python django engineer number {i}", dimensions=64) for i in range(50)
        ]
        stats = service.write_batch_file(requests, tmp_path / "batch.jsonl")
        uploaded = service.upload_file(stats.path)
        batch = service.create_batch(uploaded.id, "/v1/embeddings", metadata={"kind": "cv_embedding"})
        assert (batch.status, batch.metadata) == ("validating", {"kind": "cv_embedding"})
        batch = service.retrieve_batch(batch.id)
        assert batch.status == "completed"
        results = by_custom_id(service.iter_file_lines(batch.output_file_id))
        errors = by_custom_id(service.iter_file_lines(batch.error_file_id))
        assert set(results) | set(errors) == {r["custom_id"] for r in requests}
        assert (len(results), len(errors)) == (batch.request_counts.completed, batch.request_counts.failed)
        assert 0 < len(errors) < 25
        vector = results["cv-0"]["response"]["body"]["data"][0]["embedding"]
        assert len(vector) == 64
        assert (
            b"".join(service.file_content(batch.output_file_id))
            == service.client.files.content(batch.output_file_id).content
        )

    def test_list_and_cancel(self, mock_client_factory, tmp_path):
        service = BatchService(client=mock_client_factory(latency=30))
        path = service.write_batch_file([embedding_request("a", "text")], tmp_path / "b.jsonl").path
        created = [service.create_batch(service.upload_file(path).id, "/v1/embeddings") for _ in range(3)]
        page = service.list_batches(limit=2)
        assert [b.id for b in page.data] == [created[2].id, created[1].id] and page.has_more
        assert [b.id for b in service.list_batches(limit=2, after=created[1].id).data] == [created[0].id]
        assert service.cancel_batch(created[0].id).status == "cancelling"


class TestMockResponses:
    """Answers through `respond`, the dispatch a batch's execution runs (mock_batch_helpers)."""

    def embed(self, text, **body):
        status, answer = respond("/v1/embeddings", embedding_request("e", text, **body)["body"], custom_id="e")
        assert status == 200
        return answer

    @pytest.mark.parametrize(
        ("model", "dimensions", "expected"),
        [
            ("text-embedding-3-small", None, 1536),
            ("text-embedding-ada-002", None, 1536),
            ("text-embedding-3-large", None, 3072),
            ("text-embedding-3-small", 768, 768),
            ("text-embedding-3-large", 256, 256),
        ],
    )
    def test_embedding_sizes_and_unit_length(self, model, dimensions, expected):
        body = {"model": model} | ({"dimensions": dimensions} if dimensions else {})
        answer = self.embed("Senior Python engineer", **body)
        vector = np.asarray(answer["data"][0]["embedding"], dtype=np.float64)
        assert vector.shape == (expected,)
        assert abs(np.linalg.norm(vector) - 1) < 1e-5
        assert answer["model"] == model and answer["usage"]["prompt_tokens"] == answer["usage"]["total_tokens"] > 0

    def test_list_input_and_base64_encoding(self):
        texts = ["Python and Django", "ICU nurse"]
        floats = self.embed(texts, dimensions=32)
        encoded = self.embed(texts, dimensions=32, encoding_format="base64")
        assert [item["index"] for item in encoded["data"]] == [0, 1]
        for plain, packed in zip(floats["data"], encoded["data"], strict=True):
            raw = base64.b64decode(packed["embedding"])
            assert len(raw) == 32 * 4
            np.testing.assert_array_equal(np.frombuffer(raw, "<f4"), np.asarray(plain["embedding"], np.float32))
            np.testing.assert_array_equal(decode_embedding(packed["embedding"]), decode_embedding(plain["embedding"]))

    def test_shared_vocabulary_means_closer_vectors(self):
        def vector(text):
            return decode_embedding(self.embed(text, dimensions=768)["data"][0]["embedding"])

        cv = vector(sample_cv("01-"))
        backend_job = vector("Backend engineer: Python, Django, PostgreSQL, Celery, Redis, Docker, AWS, REST APIs")
        nurse_job = vector("ICU nurse: critical care, ventilated patients, ACLS, BLS, sepsis, Epic charting")
        assert float(cv @ backend_job) > float(cv @ nurse_job) + 0.1
        nurse_cv = vector(sample_cv("11-"))
        assert float(nurse_cv @ nurse_job) > float(nurse_cv @ backend_job)

    def test_same_input_same_bytes_even_in_another_process(self):
        body = embedding_request("e", ["Kubernetes operator", "Accountant with SAP"], dimensions=48)["body"]
        mine = orjson.dumps(respond("/v1/embeddings", body, custom_id="e")[1], option=orjson.OPT_SERIALIZE_NUMPY)
        script = (
            "import orjson, sys; from tests.mock_batch_helpers import respond; "
            "body = orjson.loads(sys.argv[1]); "
            "sys.stdout.buffer.write(orjson.dumps(respond('/v1/embeddings', body, custom_id='e')[1], "
            "option=orjson.OPT_SERIALIZE_NUMPY))"
        )
        other = subprocess.run(
            [sys.executable, "-c", script, orjson.dumps(body)], cwd=REPO, capture_output=True, check=True
        ).stdout
        assert mine == other
        chat = chat_request("explain-1", "Candidate: Python\nJob: Python, Go")["body"]
        first = respond("/v1/chat/completions", chat, custom_id="explain-1", seed=4, created=10)
        assert orjson.dumps(first) == orjson.dumps(
            respond("/v1/chat/completions", chat, custom_id="explain-1", seed=4, created=10)
        )

    def test_cv_parse_gives_json_resume_valid_against_the_request_schema(self):
        schema = _strict_resume_schema()
        request = chat_request(
            "cv-parse-42",
            sample_cv("01-"),
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "resume", "strict": True, "schema": schema},
            },
        )
        status, answer = respond("/v1/chat/completions", request["body"], custom_id="cv-parse-42")
        assert status == 200 and answer["object"] == "chat.completion"
        document = orjson.loads(answer["choices"][0]["message"]["content"])
        jsonschema.validate(document, schema)
        basics = document["basics"]
        assert (basics["name"], basics["email"], basics["phone"]) == (
            "Maria Lopez",
            "maria.lopez@example.com",
            "+1 (415) 555-0134",
        )
        assert basics["label"] == "Senior Backend Engineer" and basics["location"]["city"] == "San Francisco"
        assert [job["name"] for job in document["work"]][:2] == ["Northwind Logistics", "Brightpay Financial"]
        assert document["work"][0]["startDate"] == "2020-03" and document["work"][0]["highlights"]
        assert document["education"][0]["institution"] == "Pacific Coast University"
        assert {"Python", "Django", "PostgreSQL"} <= {skill["name"] for skill in document["skills"]}

    def test_cv_parse_by_custom_id_on_markdown_cv(self):
        request = chat_request("cv-parse-7", sample_cv("03-"), response_format={"type": "json_object"})
        document = orjson.loads(
            respond("/v1/chat/completions", request["body"], custom_id="cv-parse-7")[1]["choices"][0]["message"][
                "content"
            ]
        )
        assert document["basics"]["name"] == "Priya Raman" and document["basics"]["location"]["region"] == "WA"
        assert (
            document["work"][0]["position"] == "Senior Frontend Engineer"
            and document["work"][0]["name"] == "Cobalt Health"
        )

    def test_explanation_is_grounded_in_the_prompt(self):
        prompt = (
            "Score: 0.82\n\nCandidate:\n"
            + sample_cv("01-")
            + "\n\nJob: Platform engineer\nSkills: Python, Django, PostgreSQL, Kubernetes, Terraform"
        )
        request = chat_request("explain-cv1-job2", prompt)
        content = respond("/v1/chat/completions", request["body"], custom_id="explain-cv1-job2")[1]["choices"][0][
            "message"
        ]["content"]
        assert "0.82" in content and "strong" in content
        shared, _, missing = content.partition("Not evidenced in the CV:")
        assert all(skill in shared for skill in ("Python", "Django", "PostgreSQL"))
        assert "Terraform" in missing and "Python" not in missing

    @pytest.mark.parametrize(
        ("url", "body", "param", "status"),
        [
            ("/v1/embeddings", {"model": "text-embedding-3-small"}, "input", 400),
            ("/v1/embeddings", {"model": "text-embedding-3-small", "input": "x " * 40_000}, "input", 400),
            ("/v1/embeddings", {"model": "text-embedding-3-small", "input": ""}, "input", 400),
            ("/v1/embeddings", {"model": "text-embedding-ada-002", "input": "x", "dimensions": 8}, "dimensions", 400),
            ("/v1/embeddings", {"model": "no-such-model", "input": "x"}, None, 404),
            ("/v1/chat/completions", {"model": "gpt-4o-mini"}, "messages", 400),
            ("/v1/chat/completions", {"model": "gpt-4o-mini", "messages": []}, "messages", 400),
        ],
    )
    def test_invalid_requests_fail_by_themselves(self, url, body, param, status):
        code, answer = respond(url, body, custom_id="bad")
        assert code == status and answer["error"]["param"] == param and answer["error"]["message"]

    def test_a_registered_generator_answers_what_it_claims(self, monkeypatch):
        from core.mock_openai.generators import registry
        from core.mock_openai.generators.base import Generator

        class Recorded(Generator):
            endpoint = "/v1/chat/completions"

            def claims(self, request):
                return request.custom_id.startswith("recorded")

            def answer(self, requests):
                return [{"recorded": request.custom_id} for request in requests]

        monkeypatch.setattr(registry, "GENERATORS", (Recorded(), *registry.GENERATORS))
        chat = chat_request("x", "Candidate: Python\nJob: Python, Go")["body"]
        assert respond("/v1/chat/completions", chat, custom_id="recorded-1") == (200, {"recorded": "recorded-1"})
        assert respond("/v1/chat/completions", chat, custom_id="explain-1")[1]["object"] == "chat.completion"


def _strict_resume_schema() -> dict:
    """A structured-outputs schema for a JSON Resume subset, as the parsing prompt might send it."""

    def obj(**properties):
        return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}

    text = {"type": "string"}
    nullable = {"type": ["string", "null"]}
    return obj(
        basics=obj(
            name=text, label=text, email=text, phone=text, summary=text,
            location=obj(city=text, region=text, countryCode=text),
            profiles={"type": "array", "items": obj(network=text, url=text)},
        ),
        work={"type": "array", "items": obj(name=text, position=text, startDate=text, endDate=nullable,
                                             highlights={"type": "array", "items": text})},
        education={"type": "array", "items": obj(institution=text, area=text, studyType=text, endDate=nullable)},
        skills={"type": "array", "items": obj(name=text, keywords={"type": "array", "items": text})},
        languages={"type": "array", "items": obj(language=text, fluency=text)},
    )  # fmt: skip


# --- The pipeline's batch kinds, on the sample data and at scale (the seed's remaining classes) ---------


def _sample_data():
    from core.importing.cvs import import_cv_files
    from core.importing.jobs import import_jobs_file
    from tests.pipeline_helpers import SAMPLE_DATA

    cvs = import_cv_files([SAMPLE_DATA / "cvs"])
    jobs = import_jobs_file(SAMPLE_DATA / "jobs.jsonl")
    return cvs, jobs


@pytest.mark.django_db
class TestBatchParsing:
    def test_every_sample_cv_parses_into_a_profile(self):
        from core.batches.poll import poll_open_batches
        from core.batches.submit import submit_pending
        from core.models import CV, ParseStatus
        from core.stages.resume_schema import schema_violation
        from tests.pipeline_helpers import mock_service

        cvs, _ = _sample_data()
        assert cvs.created >= 30 and not cvs.rejected
        service = mock_service()
        [batch] = submit_pending("cv_parse", service)
        assert batch.total == cvs.created
        poll_open_batches(service)
        for cv in CV.objects.all():
            assert cv.parse_status == ParseStatus.PARSED, (cv.source_name, cv.parse_error)
            assert schema_violation(cv.parsed) is None
            basics = cv.parsed["basics"]
            first_line = cv.raw_text.splitlines()[0].lstrip("# ").strip()
            assert basics["name"] == first_line, cv.source_name
            assert basics["email"] and basics["email"].split("@")[1] in ("example.com", "example.org"), cv.source_name
            assert cv.parsed["work"] and cv.parsed["education"], cv.source_name
            skills = [group["name"] for group in cv.parsed["skills"]]
            assert len(skills) >= 5, cv.source_name
            assert all(len(skill.split()) <= 8 for skill in skills), (cv.source_name, skills)

    def test_parse_batches_respect_the_configured_size(self, settings):
        from core.batches.submit import submit_pending
        from tests.pipeline_helpers import make_cv, mock_service

        settings.BATCH_MAX_REQUESTS = {**settings.BATCH_MAX_REQUESTS, "cv_parse": 10}  # a copy: the fixture restores
        for n in range(25):
            make_cv(n)
        batches = submit_pending("cv_parse", mock_service())
        assert [b.total for b in batches] == [10, 10, 5]
        assert all(b.metadata["kind"] == "cv_parse" for b in batches)

    def test_the_token_budget_cuts_batches(self, settings):
        from core.batches.submit import submit_pending
        from tests.pipeline_helpers import make_cv, mock_service

        for n in range(6):
            make_cv(n)
        from core.batches.poll import poll_open_batches

        settings.BATCH_ENQUEUED_TOKEN_BUDGET = 500
        service = mock_service()
        batches = []
        # The budget is the organisation's queue: one batch in flight at a time holds most of it here.
        while submitted := submit_pending("cv_parse", service):
            assert len(submitted) == 1
            batches += submitted
            poll_open_batches(service)
        assert len(batches) > 1
        assert all(b.estimated_input_tokens <= 500 for b in batches)
        assert sum(b.total for b in batches) == 6


@pytest.mark.django_db
class TestBatchMatching:
    EXPECTED_TOP_TITLES = {
        "nurse": ("Nurse",),
        "accountant": ("Accountant",),
        "chef": ("Chef",),
        "teacher": ("Teacher",),
        "data-engineer": ("Data Engineer",),
        "frontend": ("Frontend",),
        "civil": ("Civil", "Site Engineer"),
    }

    def test_sample_cvs_are_matched_to_relevant_jobs(self, settings):
        from core.models import CV, Prediction
        from core.workflow.runner import run_pipeline
        from tests.pipeline_helpers import mock_service

        _sample_data()
        result = run_pipeline(mock_service())
        assert result.finished
        checked = 0
        for cv in CV.objects.all():
            top = Prediction.objects.select_related("job").get(cv=cv, rank=1)
            for marker, titles in self.EXPECTED_TOP_TITLES.items():
                if marker in cv.source_name:
                    assert any(t in top.job.title for t in titles), (cv.source_name, top.job.title)
                    checked += 1
        assert checked >= 10
        ranks = list(Prediction.objects.filter(cv=CV.objects.first()).order_by("rank").values_list("rank", "score"))
        assert [r for r, _ in ranks] == list(range(1, len(ranks) + 1))
        assert [s for _, s in ranks] == sorted((s for _, s in ranks), reverse=True)
        assert len(ranks) == min(settings.MATCH_TOP_K, 35)

    def test_match_cvs_command_runs_the_stage_alone(self):
        import io

        from django.core.management import call_command

        from core.models import Prediction
        from tests.pipeline_helpers import embedded_cv, embedded_job, unit_vector

        embedded_job(1, unit_vector(1))
        embedded_cv(1, unit_vector(1))
        out = io.StringIO()
        call_command("match_cvs", stdout=out, stderr=io.StringIO())
        assert "matched 1 CVs: 1 predictions written" in out.getvalue()
        assert Prediction.objects.get().score == pytest.approx(1.0, abs=1e-5)


class TestScalability:
    @pytest.mark.slow
    @pytest.mark.django_db
    def test_60000_pending_items_are_split_into_two_batches(self):
        from django.db import connection

        from core.batches.submit import submit_pending
        from core.models import BatchItem, EmbeddingStatus, Job
        from tests.pipeline_helpers import mock_service

        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO core_job (external_id, title, company, location, description, skills, embedding_status,"
                " embedding_attempts, embedding_error, is_active, created_at, updated_at)"
                " SELECT 'J' || n, 'Engineer ' || n, 'Acme', 'Berlin', 'Builds things with Python', '[]'::jsonb,"
                " 'pending', 0, '', true, now(), now() FROM generate_series(1, 60000) AS n"
            )
        service = mock_service()
        batches = submit_pending("job_embedding", service)
        assert [b.total for b in batches] == [50_000, 10_000]
        for batch in batches:
            assert service.client.files.retrieve(batch.input_file_id).bytes == batch.input_bytes
        assert BatchItem.objects.count() == 60_000
        assert BatchItem.objects.values("job_id").distinct().count() == 60_000
        assert Job.objects.filter(embedding_status=EmbeddingStatus.QUEUED).count() == 60_000

    def test_a_file_that_would_pass_200_mb_is_split(self):
        from core.batches.limits import BatchLimits, BatchPlan
        from core.services.openai_limits import MAX_FILE_BYTES

        plan = BatchPlan(BatchLimits())
        line = 3 * 1024 * 1024  # 3 MiB per request line: 68 fit in 200 MiB, the 69th does not
        admitted = 0
        while plan.admit("/v1/chat/completions", {"messages": []}, line):
            admitted += 1
        assert admitted == MAX_FILE_BYTES // line
        assert plan.refused_reason == f"file size limit {MAX_FILE_BYTES} bytes"

    @pytest.mark.django_db
    def test_the_byte_limit_splits_real_submissions(self):
        from core.batches.limits import BatchLimits
        from core.batches.submit import submit_pending
        from tests.pipeline_helpers import make_job, mock_service

        for n in range(30):
            make_job(n, f"Engineer {n}", ["Python"], "x" * 1000)
        service = mock_service()
        batches = submit_pending("job_embedding", service, limits=BatchLimits(max_bytes=10_000))
        assert len(batches) >= 3 and sum(b.total for b in batches) == 30
        for batch in batches:
            assert service.client.files.retrieve(batch.input_file_id).bytes <= 10_000

    def test_building_a_50000_request_file_keeps_memory_flat(self, tmp_path):
        import tracemalloc

        from core.services.batch_service import BatchService

        def requests(n):
            for i in range(n):
                yield {
                    "custom_id": f"cv-{i}",
                    "method": "POST",
                    "url": "/v1/embeddings",
                    "body": {"model": "text-embedding-3-small", "input": "python django " * 60, "dimensions": 768},
                }

        def peak(n):
            tracemalloc.start()
            BatchService.write_batch_file(requests(n), tmp_path / f"{n}.jsonl")
            _, top = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            return top

        small, large = peak(5_000), peak(50_000)
        assert (tmp_path / "50000.jsonl").stat().st_size > 10 * (tmp_path / "5000.jsonl").stat().st_size * 0.99
        assert large < small + 1_000_000, (small, large)  # ten times the requests, not ten times the memory
