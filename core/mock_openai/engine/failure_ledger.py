"""The injected failures a mock root has served, so that a retried request draws its fate anew.

OpenAI's transient errors are independent from one attempt to the next. The mock picks them
deterministically, from (seed, custom_id), so that a run can be repeated exactly; without a memory the
request that failed once would fail on every retry and no retry path could ever succeed. The ledger
counts, per custom_id, the injected failures already served from this root, and the pick for a
request includes that count: the same sequence of batches on a fresh root fails the same requests.

The ledger is append-only, one custom_id per line, written with a single O_APPEND write under a file
lock; a torn last line (a crash mid-write) is skipped when read, which loses at most one count. The
scripted outcomes keep their attempt counts in a second ledger of the same kind (`name`).
"""

import fcntl
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

LEDGER_NAME = "injected_failures.log"


def _ledger(batch_dir: Path, name: str) -> Path:
    return Path(batch_dir) / name


def load(batch_dir: Path, name: str = LEDGER_NAME) -> dict[str, int]:
    """custom_id -> injected failures (or, in another ledger, scripted attempts) served so far."""
    try:
        with open(_ledger(batch_dir, name), "rb") as handle:
            fcntl.flock(handle, fcntl.LOCK_SH)
            data = handle.read()
    except FileNotFoundError:
        return {}
    lines = data.split(b"\n")
    complete = lines[:-1]  # whatever follows the last newline is a torn write
    return dict(Counter(line.decode() for line in complete if line))


def record(batch_dir: Path, custom_ids: Iterable[str], name: str = LEDGER_NAME) -> None:
    payload = "".join(f"{custom_id}\n" for custom_id in custom_ids).encode()
    if not payload:
        return
    Path(batch_dir).mkdir(parents=True, exist_ok=True)
    fd = os.open(_ledger(batch_dir, name), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, payload)
        os.fsync(fd)
    finally:
        os.close(fd)
