"""`MockBatchEngine`: the mock Files + Batch API over one storage root, as its transports use it.

Transport-free: `files` and `batches` answer plain dicts shaped exactly like OpenAI's JSON and raise
`MockAPIError`; `MockOpenAIClient` wraps them in the SDK's types and the Django views in HTTP. It
needs no database and no Django settings (see config for the engine the settings describe).
"""

from collections.abc import Callable
from pathlib import Path

from .batch_records import RunSettings
from .batches import BatchOperations
from .controls import MockControls
from .files import FileOperations
from .lifecycle import BatchLifecycle
from .slices import available_cores
from .storage import MockStorage
from .test_clock import TestClock


class MockBatchEngine:
    """Files and batches under `root`, run with the given failure rate, seed, latency and scenario knobs.

    `max_stored_bytes` caps the bytes of all stored files: an upload that would pass it is refused (400).
    The enqueued limits count every batch in flight on the root for the model, as OpenAI's organisation
    queue does. `cassettes_dir` replays recorded answers (strictly: refusing the others, with
    `cassettes_strict`). Without a `clock`, the root's `TestClock`: real time until a test freezes or advances it.
    """

    def __init__(
        self,
        root: Path,
        *,
        failure_rate: float = 0.05,
        seed: int = 0,
        latency: float = 0.0,
        expire: bool = False,
        enqueued_token_limit: int | None = None,
        enqueued_request_limit: int | None = None,
        cassettes_dir: Path | None = None,
        cassettes_strict: bool = False,
        workers: int | None = None,
        max_stored_bytes: int | None = None,
        clock: Callable[[], float] | None = None,
    ):
        self.test_clock = TestClock(root)
        self.clock = clock = clock or self.test_clock
        self.storage = MockStorage(root, clock)
        self.files = FileOperations(self.storage.files, max_stored_bytes)
        settings = RunSettings(
            latency=latency,
            seed=seed,
            failure_rate=failure_rate,
            expire=expire,
            enqueued_token_limit=enqueued_token_limit,
            enqueued_request_limit=enqueued_request_limit,
            cassettes_dir=str(cassettes_dir) if cassettes_dir else None,
            cassettes_strict=cassettes_strict,
        )
        lifecycle = BatchLifecycle(self.storage, workers or available_cores(), clock)
        self.batches = BatchOperations(self.storage, settings, lifecycle, clock)
        self.controls = MockControls(self.batches.script, self.test_clock)
