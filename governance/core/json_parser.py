"""JSON request bodies read within limits: size, nesting depth, items per list or object, and no NUL.

Every JSON body the service reads goes through ``json_body_load`` (DRF views through ``LimitedJSONParser``,
the default parser). A body is refused, before anything is stored, when it is

1. larger than ``MAX_JSON_BODY_BYTES`` (413 ``payload_too_large``; read at most one byte past the limit);
2. not JSON, or uses ``NaN``/``Infinity`` (not JSON, RFC 8259 §6; PostgreSQL's jsonb refuses them)
   (400 ``parse_error``);
3. nested deeper than ``MAX_JSON_DEPTH`` (400 ``json_too_deep``); Python's parser recurses, so a very deep
   body would otherwise end in a RecursionError;
4. holding a list or object of more than ``MAX_JSON_ITEMS`` items (400 ``json_too_many_items``);
5. holding a NUL character (``\\u0000``) in any string or key (400 ``nul_character``, naming the field):
   PostgreSQL cannot store NUL in text or jsonb, and a NUL is never meaningful in a name, a description
   or a parameter, so it is refused rather than stored escaped.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator, Mapping
from typing import IO, Any, Final

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from governance.core.errors import ApplicationError

NUL: Final = "\x00"


class PayloadTooLarge(ApplicationError):
    code = "payload_too_large"
    status = 413  # RFC 9110 §15.5.14


class JsonTooDeep(ApplicationError):
    code = "json_too_deep"


class JsonTooManyItems(ApplicationError):
    code = "json_too_many_items"


class NulCharacter(ApplicationError):
    code = "nul_character"


def too_large(size: int | None = None) -> PayloadTooLarge:
    limit = settings.MAX_JSON_BODY_BYTES
    got = f" ({size} bytes)" if size is not None else ""
    return PayloadTooLarge(
        f"the request body{got} is larger than the server accepts: MAX_JSON_BODY_BYTES={limit}"
    )


def read_limited(stream: IO[bytes] | Any) -> bytes:
    """The body, read in chunks; refused as soon as it passes ``MAX_JSON_BODY_BYTES``."""
    limit = settings.MAX_JSON_BODY_BYTES
    chunks: list[bytes] = []
    size = 0
    while chunk := stream.read(min(64 * 1024, limit + 1 - size) or 1):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise too_large()
    return b"".join(chunks)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _children(value: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield str(key), (f"{path}.{key}" if path else str(key)), item
    else:
        for index, item in enumerate(value):
            yield "", f"{path}[{index}]", item


def json_check(value: Any, *, depth_setting: str = "MAX_JSON_DEPTH") -> None:
    """Depth, items and NUL checks over a parsed value, walked without recursion. ``depth_setting``
    names the setting that bounds the depth (an endpoint may have a deeper bound of its own)."""
    max_depth, max_items = int(getattr(settings, depth_setting)), settings.MAX_JSON_ITEMS
    stack: list[tuple[Any, str, int]] = [(value, "", 1)]
    while stack:
        current, path, depth = stack.pop()
        if isinstance(current, str):
            if NUL in current:
                raise NulCharacter(f"{path or 'the body'}: NUL characters (\\u0000) are not accepted")
            continue
        if not isinstance(current, Mapping | list):
            continue
        if depth > max_depth:
            raise JsonTooDeep(f"{path or 'the body'}: JSON nested deeper than {depth_setting}={max_depth}")
        if len(current) > max_items:
            raise JsonTooManyItems(
                f"{path or 'the body'}: {len(current)} items, more than MAX_JSON_ITEMS={max_items}"
            )
        for key, child_path, child in _children(current, path):
            if NUL in key:
                raise NulCharacter(f"{child_path!r}: NUL characters (\\u0000) are not accepted in a key")
            stack.append((child, child_path, depth + 1))


def json_loads_checked(data: bytes | str) -> Any:
    """Parse and check a body already read (see the module docstring for what is refused)."""
    try:
        value = json.loads(data, parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise JsonTooDeep(
            f"the body: JSON nested deeper than MAX_JSON_DEPTH={settings.MAX_JSON_DEPTH}"
        ) from exc
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, too many digits in an int
        raise ParseError(f"JSON parse error - {exc}") from exc
    json_check(value)
    return value


def json_body_load(stream: IO[bytes] | Any, encoding: str = "utf-8") -> Any:
    raw = read_limited(stream)
    if encoding.lower().replace("_", "-") not in {"utf-8", "utf8"}:
        try:
            return json_loads_checked(codecs.decode(raw, encoding))
        except (LookupError, UnicodeDecodeError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
    return json_loads_checked(raw)


class LimitedJSONParser(BaseParser):
    """DRF's JSON parser within the limits above (the default parser of every API view)."""

    media_type = "application/json"

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        if stream is None:
            raise ParseError("JSON parse error - the body is empty")
        return json_body_load(stream, encoding)
