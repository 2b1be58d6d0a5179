"""Logging helpers: nothing that reaches a log handler may carry the OpenAI API key.

The filter sits on every handler (settings.LOGGING gives it to each one it declares), not on loggers: a
logger's filters see only records logged on that logger, not those propagating up from its children.
Celery's worker replaces the root logger's handlers with its own (worker_hijack_root_logger) and adds
some to its multiprocessing and task loggers, so once it has, the filter is put on every handler again
through Celery's logging signals, connected below. Every Django process imports this module when LOGGING
is applied, which in a worker is before the worker sets its logging up.
"""

import logging

from celery.signals import after_setup_logger, after_setup_task_logger
from django.conf import settings

REDACTED = "[redacted]"


SECRET_SETTINGS = ("OPENAI_API_KEY", "MOCK_OPENAI_API_KEY")


def redact(text: str) -> str:
    for name in SECRET_SETTINGS:
        key = getattr(settings, name, None)
        if key and key in text:
            text = text.replace(key, REDACTED)
    return text


class RedactSecretsFilter(logging.Filter):
    """Renders the record once and removes the key from the message and any traceback text."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # A log call whose arguments do not fit its format: rather than raise at the caller (or let
            # logging's error report print the raw arguments), keep the line, spelled out and redacted.
            message = f"{record.msg!r} % {record.args!r} (log arguments do not match the format)"
            record.msg, record.args = message, ()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if record.exc_info and record.exc_info[1] is not None:
            formatted = logging.Formatter().formatException(record.exc_info)
            if redact(formatted) != formatted:
                record.exc_text = redact(formatted)
                record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def redact_every_handler() -> None:
    """Give every handler of every logger the filter, if it lacks one (handlers made outside LOGGING)."""
    loggers = [logging.getLogger()]
    loggers += [logger for logger in logging.Logger.manager.loggerDict.values() if isinstance(logger, logging.Logger)]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(existing, RedactSecretsFilter) for existing in handler.filters):
                handler.addFilter(RedactSecretsFilter())


def _redact_celery_handlers(**_signal_arguments) -> None:
    """After Celery set up the root logger (and the multiprocessing one), or its task loggers."""
    redact_every_handler()


after_setup_logger.connect(_redact_celery_handlers, weak=False, dispatch_uid="recruit.redact_secrets")
after_setup_task_logger.connect(_redact_celery_handlers, weak=False, dispatch_uid="recruit.redact_secrets.task")
