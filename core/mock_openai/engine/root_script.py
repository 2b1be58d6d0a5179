"""The scripted outcomes set on a whole mock root (HTTP control endpoint, `client.mock.script`).

Stored in the root (`mock_control/script.json`), so whichever process creates a batch on that root
sees it; a batch copies it at create, after the rules of its own metadata (see scripted_outcomes).
"""

from pathlib import Path

from .atomic_files import read_json, write_json_atomically
from .scripted_outcomes import Script, parse_script, stored_script
from .test_clock import CONTROL_DIR


class RootScript:
    def __init__(self, root: Path):
        self._path = Path(root) / CONTROL_DIR / "script.json"

    def get(self) -> Script:
        stored = read_json(self._path)
        return stored_script(stored["rules"]) if stored else ()

    def set(self, rules: object) -> Script:
        """Replace the root's script with `rules` ({pattern: outcome | [outcome, ...]}); a 400 if invalid."""
        script = parse_script(rules, "rules")
        self._path.parent.mkdir(parents=True, exist_ok=True)
        write_json_atomically(self._path, {"rules": script})
        return script

    def clear(self) -> None:
        self._path.unlink(missing_ok=True)
