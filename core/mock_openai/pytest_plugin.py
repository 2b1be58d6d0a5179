"""pytest fixtures for testing code that uses OpenAI's Files + Batch API against the mock.

Load with `pytest -p core.mock_openai.pytest_plugin`, or `pytest_plugins = ["core.mock_openai.pytest_plugin"]`
in a root conftest.py. Each test gets its own mock root under its `tmp_path`:

- `mock_openai`: `MockOpenAIClient`, in process, no failures, no latency; `mock_openai.mock` holds the
  test's controls (`set_script`, `freeze_clock`, `advance_clock`, ...).
- `mock_openai_server`: `manage.py serve_mock_openai` in a child process on a free port; `.env` holds
  OPENAI_BASE_URL and OPENAI_API_KEY for any client (any language), `.client()` an `openai.OpenAI` on it,
  and the controls are at `/v1/mock/...` (see core.mock_openai.http.control_views).
"""

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from .serving import new_api_key

MANAGE_PY = Path(__file__).resolve().parents[2] / "manage.py"
STOP_SECONDS = 30


@dataclass(frozen=True)
class MockOpenAIServer:
    base_url: str
    api_key: str
    root: Path

    @property
    def env(self) -> dict[str, str]:
        """The two variables an `openai` SDK (any language) needs to use this server."""
        return {"OPENAI_BASE_URL": self.base_url, "OPENAI_API_KEY": self.api_key}

    def client(self, **options):
        import openai

        return openai.OpenAI(base_url=self.base_url, api_key=self.api_key, **({"max_retries": 0} | options))


@pytest.fixture
def mock_openai(tmp_path):
    from .client import MockOpenAIClient

    return MockOpenAIClient(root=tmp_path / "mock_openai", failure_rate=0.0, latency=0.0, seed=0)


@pytest.fixture
def mock_openai_server(tmp_path):
    api_key, root = new_api_key(), tmp_path / "mock_openai_server"
    env = {**os.environ, "MOCK_OPENAI_API_KEY": api_key, "MOCK_BATCH_FAILURE_RATE": "0", "MOCK_BATCH_LATENCY": "0"}
    env.setdefault("DJANGO_SETTINGS_MODULE", "recruit.settings")
    command = [sys.executable, str(MANAGE_PY), "serve_mock_openai", "--port", "0", "--root", str(root)]
    log = tmp_path / "mock_openai_server.log"  # its request log; a file, so it never blocks on a full pipe
    with log.open("w") as stderr:
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        first_line = process.stdout.readline().strip()
        if not first_line.startswith("OPENAI_BASE_URL="):
            process.wait(STOP_SECONDS)
            raise RuntimeError(f"serve_mock_openai did not start ({first_line!r}); its log: {log.read_text()}")
        yield MockOpenAIServer(first_line.removeprefix("OPENAI_BASE_URL="), api_key, root)
    finally:
        process.terminate()
        process.wait(STOP_SECONDS)
        process.stdout.close()
