"""The mock root's clock, which a test stops and moves: a 24-hour expiry tested in milliseconds.

Real time until a test freezes or advances it; from then on the time stored in the root
(`mock_control/clock.json`), which only `advance` moves. Stored in the root, so the test process, the
HTTP views and any worker process running the same root all read the same time; changed under a file
lock and written atomically, so two advances never lose one another.
"""

import time
from pathlib import Path

from .atomic_files import read_json, write_json_atomically
from .file_locks import exclusive_lock

CONTROL_DIR = "mock_control"


class TestClock:
    """`clock()` as the engine reads it; `freeze`, `advance` and `resume` as a test moves it."""

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self, root: Path):
        self._dir = Path(root) / CONTROL_DIR
        self._path = self._dir / "clock.json"

    def __call__(self) -> float:
        stored = read_json(self._path)
        return time.time() if stored is None else stored["now"]

    @property
    def frozen(self) -> bool:
        return self._path.exists()

    def freeze(self, at: float | None = None) -> float:
        """Stop the clock (at `at`, else now); it moves only when advanced."""
        with self._lock():
            now = float(at) if at is not None else self()
            write_json_atomically(self._path, {"now": now})
        return now

    def advance(self, seconds: float) -> float:
        """Move the clock forward by `seconds` (freezing it first if it runs); the new time."""
        if not seconds >= 0:
            raise ValueError(f"seconds must be a non-negative number, got {seconds!r}")
        with self._lock():
            now = self() + float(seconds)
            write_json_atomically(self._path, {"now": now})
        return now

    def resume(self) -> None:
        """Back to real time."""
        with self._lock():
            self._path.unlink(missing_ok=True)

    def _lock(self):
        self._dir.mkdir(parents=True, exist_ok=True)
        return exclusive_lock(self._dir / "clock.lock")
