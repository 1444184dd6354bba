"""RFC 8785 JSON Canonicalization Scheme (JCS): one exact byte string per JSON value.

Audit entries are hashed and signed as bytes, so the bytes must not depend on dict order, float
formatting or escaping choices. The output never contains a raw newline byte (control characters are
always escaped), so canonical entries can be stored one per line.
"""

from __future__ import annotations

import json
import math

# RFC 8785 §3.2.2.3 carries I-JSON's limit (RFC 7493 §2.2): integers beyond this lose precision in
# the IEEE 754 doubles every other implementation parses them into.
MAX_SAFE_INTEGER = 2**53 - 1

# RFC 8785 §3.2.2.2: the two-character escapes, lowercase \u00XX for the other C0 controls, and
# nothing else (not even U+007F, U+2028 or "/").
_ESCAPES: dict[int, str] = {code: f"\\u{code:04x}" for code in range(0x20)}
_ESCAPES.update(
    {
        ord("\b"): "\\b",
        ord("\t"): "\\t",
        ord("\n"): "\\n",
        ord("\f"): "\\f",
        ord("\r"): "\\r",
        ord('"'): '\\"',
        ord("\\"): "\\\\",
    }
)

_MAX_DEPTH = 500


# For values without floats and with ASCII member names, RFC 8785 and the standard library's compact,
# sorted, non-ASCII-preserving output are the same bytes: ASCII names sort alike by code point and by
# UTF-16 code unit, both escape exactly '"', '\\' and the C0 controls (the same short forms, lowercase
# \u00XX otherwise), and integers print alike. Floats print differently (1.0, 1e+21), so they take the
# long way, as does anything else the scan is not sure of.
_STANDARD = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def canonical_json(value: object) -> bytes:
    """Serialize ``value`` per RFC 8785 and return its UTF-8 bytes.

    Supports dict (str keys), list and tuple, str, int (within ±(2**53 - 1)), float (finite), bool and
    None. Raises TypeError for other types and ValueError for values JSON cannot represent exactly.
    """
    if _plain(value, 0):
        try:
            return _STANDARD.encode(value).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError("strings must be valid Unicode (lone surrogate found)") from exc
    parts: list[str] = []
    _write(value, parts, 0)
    text = "".join(parts)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("strings must be valid Unicode (lone surrogate found)") from exc


def _plain(value: object, depth: int) -> bool:
    """Whether the standard encoder's output for ``value`` is already canonical (see ``_STANDARD``)."""
    kind = type(value)
    if kind is str or value is None or kind is bool:
        return True
    if kind is int:
        return -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER  # type: ignore[operator]
    if depth >= _MAX_DEPTH:
        return False
    if kind is dict:
        for key, item in value.items():  # type: ignore[attr-defined]
            if type(key) is not str or not key.isascii() or not _plain(item, depth + 1):
                return False
        return True
    if kind is list or kind is tuple:
        return all(_plain(item, depth + 1) for item in value)  # type: ignore[attr-defined]
    return False


# One branch per JSON type of RFC 8785 §3.2.2; a table of callables would hide the bool-before-int order.
def _write(value: object, parts: list[str], depth: int) -> None:  # noqa: C901
    # Type dispatch order matters: bool is a subclass of int.
    if value is None:
        parts.append("null")
    elif value is True:
        parts.append("true")
    elif value is False:
        parts.append("false")
    elif isinstance(value, str):
        parts.append(_string(value))
    elif isinstance(value, int):
        parts.append(_integer(value))
    elif isinstance(value, float):
        parts.append(number_to_string(value))
    elif isinstance(value, dict):
        if depth >= _MAX_DEPTH:
            raise ValueError(f"nesting deeper than {_MAX_DEPTH} levels")
        _object(value, parts, depth + 1)
    elif isinstance(value, list | tuple):
        if depth >= _MAX_DEPTH:
            raise ValueError(f"nesting deeper than {_MAX_DEPTH} levels")
        parts.append("[")
        for position, item in enumerate(value):
            if position:
                parts.append(",")
            _write(item, parts, depth + 1)
        parts.append("]")
    else:
        raise TypeError(f"{type(value).__name__} is not a JSON type")


def _object(value: dict[object, object], parts: list[str], depth: int) -> None:
    keys: list[str] = []
    for key in value:
        if not isinstance(key, str):
            raise TypeError(f"object keys must be str, not {type(key).__name__}")
        keys.append(key)
    parts.append("{")
    for position, key in enumerate(sorted(keys, key=_utf16_sort_key)):
        if position:
            parts.append(",")
        parts.append(_string(key))
        parts.append(":")
        _write(value[key], parts, depth)
    parts.append("}")


def _utf16_sort_key(key: str) -> bytes:
    """RFC 8785 §3.2.3: names are compared as arrays of UTF-16 code units.

    Big-endian UTF-16 bytes compare like their code units, which differs from code point order above
    the BMP (U+1F600 sorts before U+FB33).
    """
    try:
        return key.encode("utf-16-be")
    except UnicodeEncodeError as exc:
        raise ValueError("object keys must be valid Unicode (lone surrogate found)") from exc


def _string(value: str) -> str:
    return '"' + value.translate(_ESCAPES) + '"'


def _integer(value: int) -> str:
    if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        raise ValueError(f"integer {value} is outside ±(2**53 - 1) (RFC 8785 §3.2.2.3, I-JSON)")
    return str(int(value))


def number_to_string(value: float) -> str:
    """ECMAScript Number::toString (ECMA-262 §7.1.12.1) for a finite double, as RFC 8785 §3.2.2.3 requires.

    Python's ``repr`` already yields the shortest digit string that round-trips (the same digits
    ECMAScript selects); only the layout (where the point goes, when to switch to exponent form) differs.
    """
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        raise ValueError(f"{number!r} has no JSON representation (RFC 8785 §3.2.2.3)")
    if number == 0:
        return "0"  # also -0.0: ECMAScript prints both as "0"
    sign = "-" if number < 0 else ""
    mantissa, _, exponent_text = repr(abs(number)).partition("e")
    exponent = int(exponent_text) if exponent_text else 0
    whole, _, fraction = mantissa.partition(".")
    # Normalise to digits d1..dk with value 0.d1..dk * 10**n (ECMA-262's s, k and n).
    if whole == "0":
        stripped = fraction.lstrip("0")
        n = exponent - (len(fraction) - len(stripped))
        digits = stripped
    else:
        n = exponent + len(whole)
        digits = whole + fraction
    digits = digits.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    exponent_sign = "+" if n - 1 >= 0 else "-"
    head = digits[0] + ("." + digits[1:] if k > 1 else "")
    return f"{sign}{head}e{exponent_sign}{abs(n - 1)}"


__all__ = ["MAX_SAFE_INTEGER", "canonical_json", "number_to_string"]
