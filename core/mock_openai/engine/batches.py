"""The Batch API operations of the mock: create, retrieve (which advances the batch), cancel, list.

A batch takes its input at create, as OpenAI's does: it keeps its own name for the input file's data
(storage's `keep_input`) until it finishes, so the file may be deleted from the Files API meanwhile.
"""

from collections.abc import Callable

from .batch_records import RunSettings, new_batch_record
from .errors import bad_request
from .lifecycle import TERMINAL, BatchLifecycle
from .listing import check_limit, paginate
from .parameter_checks import check_create_parameters, check_metadata
from .root_script import RootScript
from .scripted_outcomes import script_from_metadata
from .storage import MockStorage, file_not_found

LIST_LIMITS = (1, 100)


class BatchOperations:
    """What `/v1/batches` answers, as OpenAI's JSON objects (plain dicts)."""

    def __init__(
        self, storage: MockStorage, settings: RunSettings, lifecycle: BatchLifecycle, clock: Callable[[], float]
    ):
        self._storage = storage
        self._settings = settings
        self._lifecycle = lifecycle
        self._clock = clock
        self.script = RootScript(storage.root)

    def create(
        self,
        *,
        input_file_id: object,
        endpoint: object,
        completion_window: object,
        metadata=None,
        output_expires_after=None,
    ) -> dict:
        if not isinstance(input_file_id, str) or not input_file_id:
            raise bad_request(
                "Missing required parameter: 'input_file_id'.", "input_file_id", "missing_required_parameter"
            )
        files = self._storage.files
        input_record = files.record(input_file_id)
        output_lifetime = check_create_parameters(
            input_file=input_record["file"],
            endpoint=endpoint,
            completion_window=completion_window,
            output_expires_after=output_expires_after,
        )
        metadata = check_metadata(metadata)
        record = new_batch_record(
            input_file_id=input_file_id,
            endpoint=endpoint,
            completion_window=completion_window,
            metadata=metadata,
            output_lifetime=output_lifetime,
            settings=self._settings,
            script=script_from_metadata(metadata) + self.script.get(),
            now=self._clock(),
        )
        batches, batch_id = self._storage.batches, record["batch"]["id"]
        try:
            batches.keep_input(batch_id, files.data_paths(input_record)[0])
        except FileNotFoundError:  # deleted since its record was read
            raise file_not_found(input_file_id) from None
        try:
            batches.save(record)
        except BaseException:
            batches.release_input(batch_id)
            raise
        return record["batch"]

    def retrieve(self, batch_id: str) -> dict:
        batches = self._storage.batches
        with batches.lock(batch_id):
            record = batches.record(batch_id)
            if record["batch"]["status"] not in TERMINAL:
                self._lifecycle.advance(record)
                batches.save(record)
            if record["batch"]["status"] in TERMINAL:
                batches.release_input(batch_id)  # after the save: a batch that still runs keeps its input
            return record["batch"]

    def cancel(self, batch_id: str) -> dict:
        batches = self._storage.batches
        with batches.lock(batch_id):
            record = batches.record(batch_id)
            if self._lifecycle.cancel(record):
                batches.save(record)
            return record["batch"]

    def list(self, *, after: str | None = None, limit: int = 20) -> dict:
        """Newest first. Listing shows each batch as last observed; retrieve advances it."""
        limit = check_limit(limit, LIST_LIMITS)
        records = sorted(
            self._storage.batches.iter_records(), key=lambda r: (r["order"], r["batch"]["id"]), reverse=True
        )
        return paginate(records, "batch", after, limit)
