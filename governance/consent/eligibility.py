"""The training-data filter's Django-free core: consent events folded into a state per purpose, and
per subject and per row the verdict whether the data may be used for a purpose.

Rules:
1. Events are ordered by their mark ``(occurred_at, event id)``.
2. A purpose's *choice* is its newest grant, withdraw, opt_out or object event: the newest choice
   wins, so a grant (consent, or another GDPR Art. 6(1) basis recorded) after a refusal supersedes it,
   and a withdrawal (Art. 7(3)), an opt-out (CCPA §1798.120) or an objection (Art. 21) supersedes an
   earlier grant.
3. *Limited* (CPRA §1798.121): a limit_sensitive event newer than the newest grant.
4. Purposes are fideslang data uses; an event for a purpose covers its descendants ("personalize"
   covers "personalize.profiling"), so the state for a purpose merges its own and its ancestors'.
5. Each dimension keeps only its newest mark, so merging is order-independent: events may arrive in
   any order (an import, a paper form recorded late) and the result is the same.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final, TypedDict

import numpy as np
import pandas as pd

Mark = tuple[datetime, int]

GRANT: Final = "grant"
WITHDRAW: Final = "withdraw"
OPT_OUT: Final = "opt_out"
LIMIT_SENSITIVE: Final = "limit_sensitive"
OBJECT: Final = "object"
CHOICE_KINDS: Final = frozenset({GRANT, WITHDRAW, OPT_OUT, OBJECT})
KINDS: Final = (GRANT, WITHDRAW, OPT_OUT, LIMIT_SENSITIVE, OBJECT)
STATUS_OF_CHOICE: Final = {GRANT: "granted", WITHDRAW: "withdrawn", OPT_OUT: "opted_out", OBJECT: "objected"}

# Why a row is left out, in the order they are tried: a row gets the first that applies.
NO_SUBJECT_ID: Final = "no_subject_id"
ERASURE: Final = "erasure"
NO_LAWFUL_BASIS: Final = "no_lawful_basis"
LIMITED_SENSITIVE: Final = "limited_sensitive"
REASONS: Final = (
    NO_SUBJECT_ID,
    ERASURE,
    "withdrawn",
    "opted_out",
    "objected",
    NO_LAWFUL_BASIS,
    LIMITED_SENSITIVE,
)
RULES_VERSION: Final = "consent-filter/1"


def _newer(mark: Mark | None, than: Mark | None) -> bool:
    return mark is not None and (than is None or mark > than)


@dataclass(frozen=True, slots=True)
class PurposeState:
    """What a subject's events say about one purpose (see the module's rules)."""

    choice: str | None = None
    lawful_basis: str = ""
    jurisdiction: str = ""
    choice_mark: Mark | None = None
    grant_mark: Mark | None = None
    limit_mark: Mark | None = None

    @classmethod
    def of(cls, kind: str, mark: Mark, *, lawful_basis: str = "", jurisdiction: str = "") -> PurposeState:
        """The state one event alone makes; folding events is merging these."""
        if kind == LIMIT_SENSITIVE:
            return cls(limit_mark=mark)
        if kind not in CHOICE_KINDS:
            raise ValueError(f"unknown consent event kind {kind!r}")
        if kind == GRANT:
            return cls(kind, lawful_basis or "consent", jurisdiction, mark, mark, None)
        return cls(kind, "", jurisdiction, mark, None, None)

    def add(self, kind: str, mark: Mark, *, lawful_basis: str = "", jurisdiction: str = "") -> PurposeState:
        return self.merge(PurposeState.of(kind, mark, lawful_basis=lawful_basis, jurisdiction=jurisdiction))

    def merge(self, other: PurposeState) -> PurposeState:
        newest = other if _newer(other.choice_mark, self.choice_mark) else self
        return PurposeState(
            newest.choice,
            newest.lawful_basis,
            newest.jurisdiction,
            newest.choice_mark,
            other.grant_mark if _newer(other.grant_mark, self.grant_mark) else self.grant_mark,
            other.limit_mark if _newer(other.limit_mark, self.limit_mark) else self.limit_mark,
        )

    @property
    def status(self) -> str | None:
        return STATUS_OF_CHOICE.get(self.choice or "")

    @property
    def limited(self) -> bool:
        return _newer(self.limit_mark, self.grant_mark)

    @property
    def since(self) -> datetime | None:
        marks = [mark for mark in (self.choice_mark, self.limit_mark) if mark is not None]
        return max(marks)[0] if marks else None


def purpose_and_ancestors(purpose: str) -> list[str]:
    """``"a.b.c"`` → ``["a", "a.b", "a.b.c"]``: the keys whose events cover ``purpose``."""
    parts = purpose.split(".")
    return [".".join(parts[: n + 1]) for n in range(len(parts))]


def effective_state(by_purpose: Mapping[str, PurposeState], purpose: str) -> PurposeState | None:
    """The state for ``purpose``: its own merged with its ancestors' (rule 4)."""
    if "." not in purpose:
        return by_purpose.get(purpose)
    found = [by_purpose[key] for key in purpose_and_ancestors(purpose) if key in by_purpose]
    if not found:
        return None
    state = found[0]
    for more in found[1:]:
        state = state.merge(more)
    return state


def subject_reason(state: PurposeState | None, *, erased: bool, sensitive: bool) -> str | None:
    """Why a subject's data may not be used (``None``: it may)."""
    if erased:
        return ERASURE
    if state is None or state.choice is None:
        return NO_LAWFUL_BASIS
    if state.choice != GRANT:
        return STATUS_OF_CHOICE[state.choice]
    if sensitive and state.limited:
        return LIMITED_SENSITIVE
    return None


@dataclass(frozen=True)
class RowVerdict:
    """The filter's answer for a column of rows, each naming a subject by code (-1: nobody)."""

    included: np.ndarray  # bool per row
    rows_by_reason: dict[str, int]
    subjects_by_reason: dict[str, int]
    subjects_total: int
    included_subjects: list[str]

    @classmethod
    def everyone(cls, rows: int) -> RowVerdict:
        """Rows that name no data subject (a dataset without personal data): all may be used."""
        return cls(np.ones(rows, dtype=bool), dict.fromkeys(REASONS, 0), dict.fromkeys(REASONS, 0), 0, [])


def factorize_ids(ids: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Per row the code of its subject id (-1 for a blank or missing one) and the distinct ids, read
    as text and stripped exactly as ``registry.services.dataset_files`` reads them when profiling."""
    # Strip the distinct values, not every row: a million rows name a hundred thousand people.
    raw_codes, raw_uniques = pd.factorize(ids, use_na_sentinel=True)
    stripped = [str(value).strip() for value in raw_uniques]
    codes_of_unique, uniques = pd.factorize(pd.Series([value or None for value in stripped], dtype=object))
    codes = np.append(codes_of_unique, -1)[raw_codes]  # -1 (no id) picks the -1 appended
    return codes, [str(value) for value in uniques]


def judge_rows(codes: np.ndarray, subjects: Sequence[str], reasons: Mapping[str, str | None]) -> RowVerdict:
    """Apply per-subject ``reasons`` to rows at once (a subject without a verdict has no lawful basis
    recorded); one take and two bincounts, however many rows."""
    labels = (*REASONS, "")
    index = {label: n for n, label in enumerate(labels)}
    per_subject = np.fromiter(
        (index[reasons.get(subject, NO_LAWFUL_BASIS) or ""] for subject in subjects),
        dtype=np.int64,
        count=len(subjects),
    )
    per_row = np.where(
        codes >= 0, per_subject[np.maximum(codes, 0)] if len(subjects) else 0, index[NO_SUBJECT_ID]
    )
    row_counts = np.bincount(per_row, minlength=len(labels))
    subject_counts = np.bincount(per_subject, minlength=len(labels))
    return RowVerdict(
        included=per_row == index[""],
        rows_by_reason={reason: int(row_counts[index[reason]]) for reason in REASONS},
        subjects_by_reason={reason: int(subject_counts[index[reason]]) for reason in REASONS},
        subjects_total=len(subjects),
        included_subjects=[
            subject for subject, code in zip(subjects, per_subject, strict=True) if code == index[""]
        ],
    )


def subjects_digest(subject_hashes: Iterable[str]) -> str:
    """SHA-256 of the sorted subject hashes joined by newlines: names a set without listing it."""
    return hashlib.sha256("\n".join(sorted(subject_hashes)).encode("ascii")).hexdigest()


class SensitiveHandling(TypedDict):
    dataset_has_special_categories: bool
    categories: list[str]
    handling: str


class EligibilityManifest(TypedDict):
    """What the filter let through, and why the rest was left out (stored with a training run)."""

    rules: str
    dataset_version: str
    dataset_sha256: str
    purpose: str
    as_of: str
    rows_total: int
    rows_included: int
    rows_excluded_by_reason: dict[str, int]
    subjects_total: int
    subjects_included: int
    subjects_excluded_by_reason: dict[str, int]
    included_subjects_sha256: str
    sensitive_categories: SensitiveHandling


def build_manifest(
    verdict: RowVerdict,
    *,
    dataset_version: str,
    dataset_sha256: str,
    purpose: str,
    as_of: str,
    special_categories: list[str],
) -> EligibilityManifest:
    sensitive = bool(special_categories)
    handling = (
        "rows of subjects who limited the use of their sensitive personal information are excluded "
        "(CPRA §1798.121)"
        if sensitive
        else "the dataset holds no special categories of personal data; limit_sensitive choices do not apply"
    )
    return {
        "rules": RULES_VERSION,
        "dataset_version": dataset_version,
        "dataset_sha256": dataset_sha256,
        "purpose": purpose,
        "as_of": as_of,
        "rows_total": len(verdict.included),
        "rows_included": int(verdict.included.sum()),
        "rows_excluded_by_reason": verdict.rows_by_reason,
        "subjects_total": verdict.subjects_total,
        "subjects_included": len(verdict.included_subjects),
        "subjects_excluded_by_reason": verdict.subjects_by_reason,
        "included_subjects_sha256": subjects_digest(verdict.included_subjects),
        "sensitive_categories": {
            "dataset_has_special_categories": sensitive,
            "categories": special_categories,
            "handling": handling,
        },
    }
