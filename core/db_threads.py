"""Work run in a thread of its own, on its own database connection, for the drivers that wait on
PostgreSQL side by side (the matcher's workers, the runner's match).

Django opens one connection per thread, and a thread that ends without closing it leaves its backend
open until the process exits. An exception raised in a thread only reaches ``threading.excepthook``,
so ``result()`` hands it back to the thread that waits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from django.db import connection

T = TypeVar("T")


class ConnectionThread(Generic[T]):
    """``work()`` started at once in a thread named ``name``; ``result()`` waits for it and returns what it
    returned, or raises what it raised (anything: an interrupt too)."""

    def __init__(self, work: Callable[[], T], name: str):
        self._outcome: dict = {}

        def run() -> None:
            try:
                self._outcome["value"] = work()
            except BaseException as exc:  # noqa: BLE001 (raised again by result(), in the waiting thread)
                self._outcome["error"] = exc
            finally:
                connection.close()

        self._thread = threading.Thread(target=run, name=name)
        self._thread.start()

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def result(self) -> T:
        self._thread.join()
        if "error" in self._outcome:
            raise self._outcome["error"]
        return self._outcome["value"]
