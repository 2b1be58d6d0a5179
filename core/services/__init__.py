"""The batch service layer: `BatchService` (the switch), the mock Files + Batch API, and OpenAI's limits."""

from .batch_service import BatchFileStats, BatchLimitExceeded, BatchService
from .mock_batch_service import MockOpenAIClient

__all__ = ["BatchFileStats", "BatchLimitExceeded", "BatchService", "MockOpenAIClient"]
