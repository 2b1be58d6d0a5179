"""One structured log line per batch event, so operators can grep a batch's whole life by its ids."""

import logging

logger = logging.getLogger("recruit.batches")


def _format(value) -> str:
    text = str(value)
    return f'"{text}"' if (" " in text or not text) else text


def log_batch_event(
    event: str, batch, level: int = logging.INFO, exc_info: BaseException | None = None, **fields
) -> None:
    parts = {
        "event": event,
        "kind": batch.kind,
        "batch": batch.pk,
        "provider_batch_id": batch.provider_batch_id,
        **fields,
    }
    logger.log(level, " ".join(f"{key}={_format(value)}" for key, value in parts.items()), exc_info=exc_info)
