"""PROV-N qualified names for report ids (PROV-N §4.6), shared by the PROV-JSON writer's modules."""

from __future__ import annotations

PREFIX = "gov"
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


def qualified_name(local: str, prefix: str = PREFIX) -> str:
    """``prefix:local`` with ``local`` escaped so the result is a PROV-N qualified name.

    Letters, digits and ``_`` pass through; ``-`` and ``.`` too, except where PROV-N forbids
    them (``-`` first, ``.`` last); everything else becomes ``%HH`` per UTF-8 byte.
    """
    out: list[str] = []
    last = len(local) - 1
    for position, char in enumerate(local):
        if char in _UNRESERVED or (char == "-" and position > 0) or (char == "." and position < last):
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
    return f"{prefix}:{''.join(out) or '_'}"


def qname_value(name: str) -> dict[str, str]:
    """A qualified-name typed literal, as ``prov:type`` values are written in PROV-JSON §2.4."""
    return {"$": name, "type": "xsd:QName"}
