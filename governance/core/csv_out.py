"""The one CSV writer for files people open: every cell a spreadsheet would run as a formula is defused.

Spreadsheet applications evaluate a cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (and, per
the OWASP "CSV Injection" guidance, tab and carriage return, which some of them skip before looking),
so a dataset name or facet written by a pipeline could become ``=HYPERLINK(...)`` or a DDE command in
an auditor's spreadsheet. Such a cell gets a leading apostrophe, which the applications display as
text and do not show; leading whitespace is looked through, as some applications trim it first.

Decision on numbers: a cell that is, in full, a plain decimal number (``-1.5``, ``+3``, ``-2e-3``) is
left as it is. A spreadsheet reads it as that number, whichever way it is written, so nothing can run,
and prefixing it would turn the number into text in every export. ``-2+3`` is not such a number and is
defused. Python's ``True``/``None`` and other objects are written with ``str`` (``None`` as empty).

Every CSV the service writes for people (reports, exports) goes through :func:`csv_writer` or
:func:`csv_text`; ``tests/security/test_csv_injection.py`` checks no other module writes CSV, except
``governance/consent/rewrite.py``, which rewrites a training dataset and must keep its bytes faithful.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import Any, Final, Protocol

FORMULA_TRIGGERS: Final = ("=", "+", "-", "@", "\t", "\r")
_NUMBER: Final = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


class _TextOut(Protocol):
    def write(self, text: str, /) -> Any: ...


def neutralise_cell(value: object) -> str:
    """The cell text, with an apostrophe in front if a spreadsheet could run it as a formula."""
    text = "" if value is None else str(value)
    if _NUMBER.fullmatch(text):
        return text
    if text.startswith(FORMULA_TRIGGERS) or text.lstrip(" \t\r\n\f\v").startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


class NeutralisingWriter:
    """``csv.writer`` whose rows are neutralised cell by cell (same dialect keywords)."""

    def __init__(self, out: _TextOut, **fmtparams: Any) -> None:
        self._writer = csv.writer(out, **fmtparams)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([neutralise_cell(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable[object]]) -> None:
        for row in rows:
            self.writerow(row)


def csv_writer(out: _TextOut, **fmtparams: Any) -> NeutralisingWriter:
    return NeutralisingWriter(out, **fmtparams)


def csv_text(
    header: Iterable[object], rows: Iterable[Iterable[object]], *, lineterminator: str = "\r\n"
) -> str:
    """A whole CSV document as text: the header row, then ``rows``, every cell neutralised."""
    buffer = io.StringIO()
    writer = csv_writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator=lineterminator)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()
