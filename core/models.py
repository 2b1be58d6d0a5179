"""Domain models: CVs and jobs, the batches sent to the provider and the predictions that come back.

Each kind of batch work lives on the row it produces: a CV's parse and embedding, a job's embedding, a
prediction's explanation. Each has a status (pending -> queued -> done / failed), an attempt count and
the last error, so the batch engine can select, retry and give up on work with one indexed query, and
an input version: every change to what the stage is built from (an edit, a new parse, a new score)
raises it, and a result is applied only to the version its request was built from (docs/RELIABILITY.md).
"""

import hashlib

from django.conf import settings
from django.db import models
from pgvector.django import VectorField


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class ParseStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    QUEUED = "queued", "Queued"
    PARSED = "parsed", "Parsed"
    FAILED = "failed", "Failed"


class EmbeddingStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    QUEUED = "queued", "Queued"
    EMBEDDED = "embedded", "Embedded"
    FAILED = "failed", "Failed"


class ExplanationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    QUEUED = "queued", "Queued"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


# Both embedding columns have an HNSW cosine index over the vector cast to half precision (pgvector's
# halfvec), created by migration 0004 in SQL because Django cannot put an operator class on a cast
# expression. The column keeps full precision; the index is half the size, so a search reads half the
# memory: matching runs about 30% faster per CV and inserts cost less, with the ranking practically
# unchanged (recall in docs/BENCHMARKS.md). A query uses it only when it orders by the same expression:
# ``ORDER BY embedding::halfvec(N) <=> %s::halfvec(N)``.
HNSW_INDEXES = {"core_cv": "cv_embedding_hnsw", "core_job": "job_embedding_hnsw"}


class EmbeddedModel(TimestampedModel):
    """A row that gets a vector through the cv_embedding or job_embedding batch kind."""

    embedding = VectorField(dimensions=settings.EMBEDDING_DIMENSIONS, null=True, blank=True)
    embedding_status = models.CharField(
        max_length=16, choices=EmbeddingStatus.choices, default=EmbeddingStatus.PENDING, db_index=True
    )
    embedding_attempts = models.PositiveSmallIntegerField(default=0)
    embedding_error = models.TextField(blank=True, default="")
    embedding_version = models.PositiveIntegerField(default=0, db_default=0)
    embedded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class MatchSnapshot(models.Model):
    """The database snapshot one match statement ranked its CVs under (``pg_current_snapshot()``).

    A CV must be matched again when some job changed in a transaction that snapshot does not see as
    committed: a question PostgreSQL answers exactly (``pg_visible_in_snapshot``) under any commit
    order, where comparing timestamps of two transactions cannot.
    """

    snapshot = models.TextField()
    # The matching transaction's own id: a snapshot does not list it as visible, yet its own earlier
    # writes are (one transaction that embeds a job and then matches, as a test may).
    xid = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"match snapshot {self.pk} ({self.snapshot})"


class CV(EmbeddedModel):
    source_name = models.CharField(max_length=255, help_text="File name or source the CV came from.")
    raw_text = models.TextField()
    content_hash = models.CharField(max_length=64, unique=True, editable=False)
    parsed = models.JSONField(null=True, blank=True, help_text="JSON Resume document.")
    parse_status = models.CharField(
        max_length=16, choices=ParseStatus.choices, default=ParseStatus.PENDING, db_index=True
    )
    parse_attempts = models.PositiveSmallIntegerField(default=0)
    parse_error = models.TextField(blank=True, default="")
    parse_version = models.PositiveIntegerField(default=0, db_default=0)
    last_matched_at = models.DateTimeField(null=True, blank=True)
    # Null: never matched with its present embedding. Set by the matcher, cleared by a trigger (migration
    # 0006) whenever the embedding changes. Neither indexed nor a database constraint: every match run
    # sets it, and a change to an indexed column makes PostgreSQL write a new entry in every index of
    # the row, the CV HNSW graph included (about 1.3 ms a CV, 60% of a match statement), where an update
    # of unindexed columns stays on its page (HOT), given room there (migrations 0003 and 0009). Only
    # snapshots no CV refers to are ever deleted (matcher.forget_unused_snapshots), so the reference
    # cannot dangle.
    matched_in = models.ForeignKey(
        MatchSnapshot,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        verbose_name = "CV"
        verbose_name_plural = "CVs"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.display_name

    def save(self, *args, **kwargs):
        if not self.content_hash:
            self.content_hash = content_hash(self.raw_text)
        super().save(*args, **kwargs)

    @property
    def display_name(self) -> str:
        basics = (self.parsed or {}).get("basics") or {}
        return basics.get("name") or self.source_name


class Job(EmbeddedModel):
    external_id = models.CharField(max_length=128, unique=True)
    title = models.CharField(max_length=255)
    company = models.CharField(max_length=255, blank=True, default="")
    location = models.CharField(max_length=255, blank=True, default="")
    description = models.TextField(blank=True, default="")
    skills = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True, db_index=True)
    # The transaction (pg_current_xact_id) that last changed what the matcher reads of this job: set by
    # a trigger (migration 0006), whoever writes the embedding or is_active.
    changed_xid = models.BigIntegerField(null=True, blank=True, db_index=True, editable=False)

    class Meta:
        ordering = ["title", "external_id"]

    def __str__(self) -> str:
        return f"{self.title} at {self.company}" if self.company else self.title


class BatchKind(models.TextChoices):
    CV_PARSE = "cv_parse", "CV parse"
    CV_EMBEDDING = "cv_embedding", "CV embedding"
    JOB_EMBEDDING = "job_embedding", "Job embedding"
    EXPLANATION = "explanation", "Explanation"
    CANDIDATE_EXPLANATION = "candidate_explanation", "Candidate explanation"


class Backend(models.TextChoices):
    MOCK = "mock", "Mock"
    OPENAI = "openai", "OpenAI"


class BatchStatus(models.TextChoices):
    """Exactly the statuses of OpenAI's Batch object."""

    VALIDATING = "validating", "Validating"
    FAILED = "failed", "Failed"
    IN_PROGRESS = "in_progress", "In progress"
    FINALIZING = "finalizing", "Finalizing"
    COMPLETED = "completed", "Completed"
    EXPIRED = "expired", "Expired"
    CANCELLING = "cancelling", "Cancelling"
    CANCELLED = "cancelled", "Cancelled"


TERMINAL_BATCH_STATUSES = frozenset(
    {BatchStatus.COMPLETED, BatchStatus.FAILED, BatchStatus.EXPIRED, BatchStatus.CANCELLED}
)


class BatchJob(models.Model):
    kind = models.CharField(max_length=32, choices=BatchKind.choices, db_index=True)
    backend = models.CharField(max_length=16, choices=Backend.choices, db_index=True)
    endpoint = models.CharField(max_length=64)
    model = models.CharField(max_length=64)
    provider_batch_id = models.CharField(max_length=128, unique=True)
    input_file_id = models.CharField(max_length=128)
    output_file_id = models.CharField(max_length=128, blank=True, default="")
    error_file_id = models.CharField(max_length=128, blank=True, default="")
    status = models.CharField(
        max_length=16, choices=BatchStatus.choices, default=BatchStatus.VALIDATING, db_index=True
    )
    total = models.PositiveIntegerField(default=0)
    completed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="The provider's errors.data entries.")
    metadata = models.JSONField(default=dict, blank=True)
    input_bytes = models.PositiveBigIntegerField(default=0)
    estimated_input_tokens = models.PositiveBigIntegerField(default=0)
    input_tokens = models.PositiveBigIntegerField(null=True, blank=True, help_text="Reported by the provider.")
    output_tokens = models.PositiveBigIntegerField(null=True, blank=True, help_text="Reported by the provider.")
    estimated_cost = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True, help_text="When it reached a terminal status.")
    ingested_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    provider_timestamps = models.JSONField(
        default=dict, blank=True, help_text="The provider's *_at timestamps (Unix seconds) by name."
    )
    poll_error = models.TextField(blank=True, default="", db_default="", help_text="Why the last poll failed.")
    poll_failures = models.PositiveSmallIntegerField(
        default=0, db_default=0, help_text="Failed polls or ingests in a row."
    )
    next_poll_at = models.DateTimeField(null=True, blank=True, help_text="Not polled before (backoff after errors).")
    lost_at = models.DateTimeField(
        null=True, blank=True, help_text="When the provider was found to no longer have this batch."
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "ingested_at"], name="batchjob_status_ingested")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.provider_batch_id}"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_BATCH_STATUSES


class ItemStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    NOT_RUN = "not_run", "Not run"
    # Answered, but the row changed after the request was built: the answer is kept off the row.
    SUPERSEDED = "superseded", "Superseded"


class BatchItem(models.Model):
    batch = models.ForeignKey(BatchJob, on_delete=models.CASCADE, related_name="items")
    custom_id = models.CharField(max_length=128)
    cv = models.ForeignKey(CV, null=True, blank=True, on_delete=models.SET_NULL, related_name="batch_items")
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="batch_items")
    prediction = models.ForeignKey(
        "Prediction", null=True, blank=True, on_delete=models.SET_NULL, related_name="batch_items"
    )
    candidate = models.ForeignKey(
        "CandidateExplanation", null=True, blank=True, on_delete=models.SET_NULL, related_name="batch_items"
    )
    status = models.CharField(max_length=16, choices=ItemStatus.choices, default=ItemStatus.QUEUED)
    attempt = models.PositiveSmallIntegerField(default=1)
    input_version = models.PositiveIntegerField(
        default=0, db_default=0, help_text="The row's input version it was built from."
    )
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["batch", "custom_id"], name="batchitem_unique_custom_id")]
        indexes = [models.Index(fields=["batch", "status"], name="batchitem_batch_status")]

    def __str__(self) -> str:
        return self.custom_id


class ExplainedModel(TimestampedModel):
    """A CV-job pair that gets a written explanation through a chat batch kind (explanation or
    candidate_explanation): the same columns, so both kinds share one request and one store."""

    explanation = models.TextField(blank=True, default="")
    explanation_status = models.CharField(
        max_length=16, choices=ExplanationStatus.choices, default=ExplanationStatus.PENDING, db_index=True
    )
    explanation_attempts = models.PositiveSmallIntegerField(default=0)
    explanation_error = models.TextField(blank=True, default="")
    explanation_version = models.PositiveIntegerField(default=0, db_default=0)

    class Meta:
        abstract = True


class Prediction(ExplainedModel):
    # No single-column FK indexes: the unique (cv, job) and the (job, -score) indexes lead with these
    # columns, and every index less makes the matcher's upserts cheaper.
    cv = models.ForeignKey(CV, on_delete=models.CASCADE, related_name="predictions", db_index=False)
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="predictions", db_index=False)
    score = models.FloatField(help_text="Cosine similarity between the CV and job embeddings.")
    rank = models.PositiveSmallIntegerField(help_text="1 is the best match for this CV.")

    class Meta:
        ordering = ["cv_id", "rank"]
        constraints = [models.UniqueConstraint(fields=["cv", "job"], name="prediction_unique_cv_job")]
        indexes = [models.Index(fields=["job", "-score"], name="prediction_job_score")]

    def __str__(self) -> str:
        return f"#{self.rank} {self.job_id} for CV {self.cv_id} ({self.score:.3f})"


class CandidateExplanation(ExplainedModel):
    """Why a CV fits a job, asked for a job's top candidates (core.matching.candidates).

    Apart from Prediction because the two rank in opposite directions: a prediction exists while the job
    is in the CV's own top K and the matcher deletes it when it drops out, whereas a recruiter wants the
    job's best CVs explained whatever else those CVs match better. The score is the one the request was
    built from: a new score raises the input version, so an answer for the old one is superseded.
    """

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="candidate_explanations", db_index=False)
    cv = models.ForeignKey(CV, on_delete=models.CASCADE, related_name="candidate_explanations")
    score = models.FloatField(help_text="Cosine similarity when the explanation was asked for.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "cv"], name="candidate_unique_job_cv")]

    def __str__(self) -> str:
        return f"CV {self.cv_id} for job {self.job_id} ({self.score:.3f})"


class ScoreBands(models.Model):
    """Where a backend's cosine scores turn good and strong, read from the scores it actually produced.

    The mock's feature-hashing vectors and OpenAI's embeddings spread cosines very differently (the mock's
    best matches sit near 0.5, OpenAI's near 0.7), so fixed thresholds mislabel one of them; the bands are
    percentiles of the backend's stored match scores (core.operations.score_bands).
    """

    backend = models.CharField(max_length=16, choices=Backend.choices, unique=True)
    # Null while the backend has too few scores to say (labels then rest on skills and title).
    good_from = models.FloatField(null=True)
    strong_from = models.FloatField(null=True)
    sample_size = models.PositiveIntegerField()
    computed_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "score bands"

    def __str__(self) -> str:
        if self.good_from is None:
            return f"{self.get_backend_display()}: uncalibrated ({self.sample_size} scores)"
        return f"{self.get_backend_display()}: good from {self.good_from:.3f}, strong from {self.strong_from:.3f}"
