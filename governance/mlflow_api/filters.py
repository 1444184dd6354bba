"""MLflow's search filter strings, ``order_by`` clauses and page tokens, parsed (no Django here).

The grammar is the subset MLflow's model registry documents and its client sends: clauses joined by
``AND`` (no ``OR``), each ``<key> <op> <value>`` where the key is ``name``, ``run_id``,
``version_number``, ``source_path`` or ``tag.<key>`` / ``tags.<key>`` (a key with dots may be
backticked, as the client's own ``tag.`mlflow.prompt.is_prompt` != 'true'`` is), the operator one of
``=``, ``!=``, ``LIKE``, ``ILIKE``, ``IN``, ``NOT IN``, and the value a quoted string or, for ``IN``, a
parenthesised list of them.

``LIKE``/``ILIKE`` values are patterns: ``%`` any run of characters, ``_`` one character, a backslash
makes the next character literal (``\\%``, ``\\_``, ``\\\\``), as on MLflow's PostgreSQL store. They are
kept parsed (``like_parse``) and handed to the database as SQL ``LIKE``/``GLOB`` patterns, never as
regular expressions: a regex with many ``.*`` backtracks exponentially on a long name.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

ATTRIBUTES: Final = ("name", "run_id", "version_number", "source_path")
OPERATORS: Final = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")
STRING_OPERATORS: Final = ("=", "!=", "LIKE", "ILIKE")
_TOKEN: Final = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<symbol>!=|<>|=|\(|\)|,)
      | (?P<word>(?:[A-Za-z_]+\.)?`[^`]+`|[A-Za-z0-9_.:/+-]+)
    )""",
    re.VERBOSE,
)


class FilterError(ValueError):
    """A filter, ``order_by`` or page token MLflow would refuse; the message says which part and why."""


@dataclass(frozen=True)
class Clause:
    kind: str  # "attribute" or "tag"
    key: str  # the attribute name or the tag key
    op: str  # one of OPERATORS
    value: str | tuple[str, ...]


@dataclass(frozen=True)
class OrderBy:
    field: str  # name, version_number, creation_timestamp or last_updated_timestamp
    ascending: bool


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise FilterError(f"filter: cannot read {text[position:].strip()!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _unquote(token: str) -> str:
    return re.sub(r"\\(.)", r"\1", token[1:-1])


def _key(word: str, allowed: tuple[str, ...]) -> tuple[str, str]:
    prefix, dot, rest = word.partition(".")
    if dot and prefix.lower() in ("tag", "tags"):
        key = rest[1:-1] if rest.startswith("`") and rest.endswith("`") else rest
        if not key:
            raise FilterError(f"filter: {word!r} names no tag key")
        return "tag", key
    name = word.strip("`").lower()
    if name == "attributes.name" or name.startswith("attribute."):
        name = name.partition(".")[2]
    if name not in allowed:
        raise FilterError(f"filter: {word!r} is not searchable here; use {', '.join(allowed)} or tag.<key>")
    return "attribute", name


def _length_check(text: str, max_length: int | None) -> None:
    if max_length is not None and len(text) > max_length:
        raise FilterError(
            f"filter: {len(text)} characters, over the limit of {max_length} (MAX_FILTER_LENGTH)"
        )


def _value(take: Callable[[], tuple[str, str]], op: str) -> str | tuple[str, ...]:
    """The value after the operator: a parenthesised list for IN / NOT IN, else one string or word."""
    if op in ("IN", "NOT IN"):
        if take()[1] != "(":
            raise FilterError(f"filter: {op} takes a parenthesised list such as ('a', 'b')")
        items: list[str] = []
        while True:
            item_kind, item = take()
            if item_kind not in ("string", "word"):
                raise FilterError(f"filter: {item!r} is not a value in the {op} list")
            items.append(_unquote(item) if item_kind == "string" else item)
            separator = take()[1]
            if separator == ")":
                return tuple(items)
            if separator != ",":
                raise FilterError(f"filter: expected ',' or ')' in the {op} list, found {separator!r}")
    value_kind, raw = take()
    if value_kind not in ("string", "word"):
        raise FilterError(f"filter: {raw!r} is not a value; quote strings as 'value'")
    if value_kind != "string":
        return raw
    # A pattern keeps its backslashes: they escape % and _ (like_parse reads them).
    return raw[1:-1] if op in ("LIKE", "ILIKE") else _unquote(raw)


def filter_parse(
    text: str | None, *, allowed: tuple[str, ...] = ATTRIBUTES, max_length: int | None = None
) -> list[Clause]:
    """Parse an MLflow filter string into clauses, all of which must hold (an empty filter: none).
    A filter longer than ``max_length`` characters (``MAX_FILTER_LENGTH``) is refused unread."""
    _length_check(text or "", max_length)
    tokens = _tokens(text or "")
    clauses: list[Clause] = []
    index = 0

    def take() -> tuple[str, str]:
        nonlocal index
        if index >= len(tokens):
            raise FilterError("filter: the filter ends in the middle of a clause")
        index += 1
        return tokens[index - 1]

    while index < len(tokens):
        if clauses:
            kind, word = take()
            if kind != "word" or word.upper() != "AND":
                raise FilterError(
                    f"filter: expected AND between clauses, found {word!r} (OR is not supported)"
                )
        kind, word = take()
        if kind != "word":
            raise FilterError(f"filter: expected a key such as name or tag.<key>, found {word!r}")
        field, key = _key(word, allowed)
        _, op = take()
        op = "!=" if op == "<>" else op.upper()
        if op == "NOT":
            _, following = take()
            op = f"NOT {following.upper()}"
        if op not in OPERATORS:
            raise FilterError(f"filter: {op!r} is not an operator; use {', '.join(OPERATORS)}")
        value = _value(take, op)
        if field == "tag" and op not in STRING_OPERATORS:
            raise FilterError(f"filter: tag.{key} takes {', '.join(STRING_OPERATORS)}, not {op}")
        if field == "attribute" and key in ("run_id", "version_number") and op in ("LIKE", "ILIKE"):
            raise FilterError(f"filter: {key} takes =, !=, IN or NOT IN, not {op}")
        clauses.append(Clause(field, key, op, value))
    return clauses


ANY_RUN: Final = "%"  # like_parse's marks for the two wildcards; every other part is one literal char
ONE_CHAR: Final = "_"


@dataclass(frozen=True)
class LikePart:
    wildcard: str  # ANY_RUN, ONE_CHAR or "" for a literal character
    char: str = ""


def like_parse(pattern: str) -> list[LikePart]:
    """An MLflow ``LIKE`` pattern as wildcards and literal characters (``\\x`` is a literal ``x``)."""
    parts: list[LikePart] = []
    chars = iter(pattern)
    for char in chars:
        if char == "\\":
            # A trailing backslash (possible only in an unquoted value) stands for itself.
            parts.append(LikePart("", next(chars, "\\")))
        elif char in (ANY_RUN, ONE_CHAR):
            parts.append(LikePart(char))
        else:
            parts.append(LikePart("", char))
    return parts


def like_to_sql(parts: list[LikePart]) -> str:
    """The pattern for ``LIKE ... ESCAPE '\\'`` (only ``%``, ``_`` and the backslash escaped)."""
    return "".join(
        part.wildcard or ("\\" + part.char if part.char in "%_\\" else part.char) for part in parts
    )


def like_to_glob(parts: list[LikePart]) -> str:
    """The pattern for SQLite's case-sensitive ``GLOB`` (``*``, ``?``; ``*?[`` as one-char sets)."""
    wildcards = {ANY_RUN: "*", ONE_CHAR: "?"}
    return "".join(
        wildcards[part.wildcard] if part.wildcard else f"[{part.char}]" if part.char in "*?[" else part.char
        for part in parts
    )


def order_by_parse(clauses: list[str] | None, *, allowed: tuple[str, ...]) -> list[OrderBy]:
    """``["name ASC", "timestamp DESC"]`` → OrderBy list; ``timestamp`` means ``creation_timestamp``."""
    parsed: list[OrderBy] = []
    for clause in clauses or []:
        words = clause.split()
        if not 1 <= len(words) <= 2 or (len(words) == 2 and words[1].upper() not in ("ASC", "DESC")):
            raise FilterError(f"order_by: {clause!r} is not '<field> [ASC|DESC]'")
        field = words[0].strip("`").lower()
        field = "creation_timestamp" if field == "timestamp" else field
        if field not in allowed:
            raise FilterError(f"order_by: {field!r} cannot be ordered by; use {', '.join(allowed)}")
        if any(existing.field == field for existing in parsed):
            raise FilterError(f"order_by: {field} is listed twice")
        parsed.append(OrderBy(field, len(words) == 1 or words[1].upper() == "ASC"))
    return parsed


def page_token_encode(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def page_token_decode(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise FilterError("page_token: not a token this server gave; start again without one") from exc
    if not isinstance(offset, int) or offset < 0:
        raise FilterError("page_token: not a token this server gave; start again without one")
    return offset


def max_results_check(value: str | int | None, *, default: int, limit: int) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise FilterError(f"max_results: {value!r} is not a whole number") from exc
    if not 1 <= number <= limit:
        raise FilterError(f"max_results: give 1 to {limit}, not {number}")
    return number
