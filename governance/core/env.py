"""Typed readers for settings from the environment that fail loudly.

Every secret may also come from a file named by ``<NAME>_FILE`` (Docker and Kubernetes secrets), which
wins over the plain variable so that a secret never has to sit in the process environment.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


def _raw(name: str) -> str | None:
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_name} cannot be read: {exc}") from exc
    value = os.environ.get(name)
    return None if value is None or value == "" else value


def string(name: str, default: str | None = None) -> str:
    value = _raw(name)
    if value is None:
        if default is None:
            raise ImproperlyConfigured(f"Set the environment variable {name} (or {name}_FILE).")
        return default
    return value


def boolean(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean; use 1/0, true/false, yes/no or on/off.")


def integer(name: str, default: int, *, minimum: int | None = None) -> int:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={value!r} is not an integer.") from exc
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={number} must be at least {minimum}.")
    return number


def fraction(name: str, default: float) -> float:
    """A number from 0 to 1 (a rate)."""
    value = _raw(name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}={value!r} is not a number.") from exc
    if not 0.0 <= number <= 1.0:
        raise ImproperlyConfigured(f"{name}={number} must be from 0 to 1.")
    return number


def string_list(name: str, default: list[str]) -> list[str]:
    value = _raw(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def json_object(name: str, default: dict[str, object]) -> dict[str, object]:
    value = _raw(name)
    if value is None:
        return default
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ImproperlyConfigured(f"{name} is not valid JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise ImproperlyConfigured(f"{name} must be a JSON object")
    return parsed


def secret(name: str, *, generate_into: Path | None) -> str:
    """A secret from ``NAME``/``NAME_FILE``; where allowed, generated once into a private file.

    Production passes ``generate_into=None``, so a missing secret stops the process instead of
    silently falling back to a value that would be the same on every installation.
    """
    value = _raw(name)
    if value is not None:
        return value
    if generate_into is None:
        raise ImproperlyConfigured(f"Set {name} or {name}_FILE: production has no default for secrets.")
    if not generate_into.exists():
        write_private_file_once(generate_into, secrets.token_urlsafe(50).encode())
    return generate_into.read_text(encoding="utf-8").strip()


def write_private_file_once(path: Path, content: bytes) -> None:
    """Create ``path`` (mode 0600) with ``content`` unless it exists; safe when processes race.

    The content is written to a private temporary file first and then hard-linked into place, which
    either succeeds atomically or finds the winner's complete file: no reader sees half a key.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()


def private_file(path: Path, *, own_folder: bool = False) -> None:
    """Make ``path`` readable by this process's user alone: the file 0600 (created empty if missing), its
    folder 0700 when this creates it or when it is the service's own (``own_folder``); a folder the
    operator chose keeps the mode they gave it. For files another library creates in place, such as the
    SQLite database, before it first opens them."""
    if str(path) in ("", ":memory:") or str(path).startswith("file:"):
        return
    if own_folder or not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.parent.chmod(0o700)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    path.chmod(0o600)
