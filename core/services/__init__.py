"""The batch service layer: `BatchService` (the switch between OpenAI and core.mock_openai) and OpenAI's limits."""

from .batch_service import BatchFileStats, BatchLimitExceeded, BatchService

__all__ = ["BatchFileStats", "BatchLimitExceeded", "BatchService"]
