"""Reading deployment settings from the environment: a value we cannot parse stops start-up."""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, *, default: str) -> str:
    # NAME_FILE lets container secrets be mounted as files.
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        return Path(file_path).read_text(encoding="utf-8").strip()
    return os.environ.get(name, default)


def env_bool(name: str, *, default: bool) -> bool:
    value = env_str(name, default=str(default)).lower()
    if value not in ("true", "false"):
        raise ImproperlyConfigured(f"{name} must be 'true' or 'false', not {value!r}")
    return value == "true"


def env_int(name: str, *, default: int) -> int:
    value = env_str(name, default=str(default))
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def env_float(name: str, *, default: float) -> float:
    value = env_str(name, default=str(default))
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number such as 0.1, not {value!r}") from None


def env_list(name: str, *, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default=default).split(",") if item.strip()]
