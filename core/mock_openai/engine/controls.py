"""What a test controls on a mock root beyond OpenAI's API: the scripted outcomes and the test clock.

One set of operations for both faces: `client.mock` in process and `/v1/mock/...` over HTTP (see
http.control_views), answering plain JSON objects and raising `MockAPIError` (400) on bad input.
"""

import math

from .errors import bad_request
from .root_script import RootScript
from .test_clock import TestClock


class MockControls:
    def __init__(self, script: RootScript, clock: TestClock):
        self._script = script
        self._clock = clock

    def script(self) -> dict:
        return {
            "object": "mock.script",
            "rules": [[pattern, list(outcomes)] for pattern, outcomes in self._script.get()],
        }

    def set_script(self, rules: object) -> dict:
        """Replace the root's script; batches created from now on follow it (after their own metadata's)."""
        self._script.set(rules)
        return self.script()

    def clear_script(self) -> dict:
        self._script.clear()
        return self.script()

    def clock(self) -> dict:
        return {"object": "mock.clock", "now": self._clock(), "frozen": self._clock.frozen}

    def freeze_clock(self, at: object = None) -> dict:
        if at is not None:
            _check_seconds(at, "at")
        self._clock.freeze(at)
        return self.clock()

    def advance_clock(self, seconds: object) -> dict:
        _check_seconds(seconds, "seconds")
        self._clock.advance(seconds)
        return self.clock()

    def resume_clock(self) -> dict:
        self._clock.resume()
        return self.clock()


def _check_seconds(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise bad_request(f"Invalid '{name}': expected a non-negative number of seconds.", name, "invalid_value")
