"""The ``data_quality`` check's parameters as policy data, and how strict one set is against another
(pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ParamsError(ValueError):
    """A parameter that cannot be used; the message names it (relative to the check's ``params``)."""


def params_validate(params: Mapping[str, Any]) -> dict[str, Any]:
    """The checked parameters; raises ParamsError naming the key."""
    if params:
        raise ParamsError(f"{', '.join(sorted(params))} unknown")
    return {}


def gaps(mine: Mapping[str, Any], other: Mapping[str, Any]) -> list[str]:
    """How ``mine`` is less strict than ``other`` (empty: at least as strict)."""
    return []
