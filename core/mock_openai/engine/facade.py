"""`MockBatchEngine`: the mock Files + Batch API over one storage root, as its transports use it.

Transport-free: `files` and `batches` answer plain dicts shaped exactly like OpenAI's JSON and raise
`MockAPIError`; `MockOpenAIClient` wraps them in the SDK's types and the Django views in HTTP. It
needs no database and no Django settings (see config for the engine the settings describe).
"""

import time
from collections.abc import Callable
from pathlib import Path

from .batch_records import RunSettings
from .batches import BatchOperations
from .files import FileOperations
from .lifecycle import BatchLifecycle
from .slices import available_cores
from .storage import MockStorage


class MockBatchEngine:
    """Files and batches under `root`, run with the given failure rate, seed, latency and scenario knobs.

    `max_stored_bytes` caps the bytes of all stored files: an upload that would pass it is refused (400).
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
        workers: int | None = None,
        max_stored_bytes: int | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.clock = clock
        self.storage = MockStorage(root, clock)
        self.files = FileOperations(self.storage.files, max_stored_bytes)
        settings = RunSettings(
            latency=latency,
            seed=seed,
            failure_rate=failure_rate,
            expire=expire,
            enqueued_token_limit=enqueued_token_limit,
        )
        lifecycle = BatchLifecycle(self.storage, workers or available_cores(), clock)
        self.batches = BatchOperations(self.storage, settings, lifecycle, clock)
