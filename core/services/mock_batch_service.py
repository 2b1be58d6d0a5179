"""The seed's name for the mock client, kept for code and docs that import it from here: the mock
itself lives in `core.mock_openai`."""

from core.mock_openai.client import MockOpenAIClient
from core.mock_openai.config import engine_from_settings

__all__ = ["MockOpenAIClient", "engine_from_settings"]
