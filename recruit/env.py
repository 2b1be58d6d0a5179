"""Typed readers for environment variables.

Every setting comes from the environment; a bad value must stop the process with an error that names
the variable and says what was expected, rather than surfacing later as a confusing failure deep in
the pipeline.
"""

import os
from collections.abc import Callable
from typing import TypeVar

from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def _convert(name: str, raw: str, kind: str, convert: Callable[[str], T]) -> T:
    try:
        return convert(raw)
    except (TypeError, ValueError) as exc:
        raise ImproperlyConfigured(f"Environment variable {name}={raw!r} is not a valid {kind}") from exc


def env_str(name: str, default: str | None = None) -> str | None:
    value = _raw(name)
    return default if value is None else value


def env_bool(name: str, default: bool | None) -> bool | None:
    """Returns None only when unset and the default is None: some settings mean 'decide for me'."""
    value = _raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"Environment variable {name}={value!r} is not a valid boolean (use true/false, 1/0, yes/no, on/off)"
    )


def env_int(name: str, default: int | None, *, minimum: int | None = None) -> int | None:
    value = _raw(name)
    if value is None:
        return default
    number = _convert(name, value, "integer", int)
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"Environment variable {name}={value!r} must be at least {minimum}")
    return number


def env_float(
    name: str, default: float, *, minimum: float | None = None, maximum: float | None = None
) -> float:
    value = _raw(name)
    if value is None:
        return default
    number = _convert(name, value, "number", float)
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise ImproperlyConfigured(
            f"Environment variable {name}={value!r} must be between {minimum} and {maximum}"
        )
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = _raw(name)
    if value is None:
        return default
    if value.upper() in choices:
        return value.upper()
    raise ImproperlyConfigured(f"Environment variable {name}={value!r} must be one of {', '.join(choices)}")
