"""The check on every frame the audit committer reads (audit/committer.py; the wire is in
audit/handoff.py): a frame that could stall the log is refused with a message, never written. A batch is
one statement, so one bad frame would fail every writer's action in it, and every batch sent after it.

Refused: a payload that is not UTF-8 ``created_at`` (ISO 8601 with a UTC offset), a newline and the
fields; fields that are not one JSON object with the members every entry has, that the sequencer could
not turn into an entry (NaN, say), with a member longer than its column in ``AuditEntry`` (the
columns the statement does not cut to length: the actor's type, the action, the request id), or with a
member the sequencer sets (the index, the previous entry's hash, the version): the frame's would take
its place in the entry.
"""

from __future__ import annotations

from datetime import datetime

from audit.models import AuditEntry
from audit.sequencing import Fields, entry_of, parse_fields

_TEXT_MEMBERS = ("timestamp", "action")
_REFERENCES = ("actor", "target")
_LOG_MEMBERS = ("index", "prev", "v")  # the sequencer's (audit.sequencing.entry_of)
_LONGEST_ACTOR_TYPE = AuditEntry._meta.get_field("actor_type").max_length or 0
_LONGEST_ACTION = AuditEntry._meta.get_field("action").max_length or 0
_LONGEST_REQUEST_ID = AuditEntry._meta.get_field("request_id").max_length or 0


def check_frame(payload: bytes) -> tuple[datetime | None, Fields | None, str]:
    """``(created_at, fields, problem)`` for one frame's payload, the fields parsed once for the
    sequencer; ``problem`` is empty when it may be queued (then neither is None)."""
    try:
        stamp, fields_text = payload.decode("utf-8").split("\n", 1)
        created_at = datetime.fromisoformat(stamp)
    except ValueError:
        return None, None, "a frame is 'created_at (ISO 8601) newline fields (JSON)' in UTF-8"
    if created_at.tzinfo is None:
        return None, None, "created_at needs a UTC offset"
    try:
        parsed = parse_fields(fields_text)
        if not parsed.plain:  # what the sequencer will do with them (the plain encoder cannot fail)
            entry_of(0, "0" * 64, parsed)
    except (ValueError, TypeError, RecursionError) as exc:
        if not fields_text.lstrip().startswith("{"):
            return None, None, "the fields must be one JSON object"
        return None, None, f"the fields cannot become an entry: {exc}"
    fields = parsed.value
    missing = [name for name in _TEXT_MEMBERS if not isinstance(fields.get(name), str)]
    missing += [] if isinstance(fields.get("request_id", ""), str | None) else ["request_id"]
    missing += [
        name
        for name in _REFERENCES
        if not (
            isinstance(fields.get(name), dict)
            and isinstance(fields[name].get("type"), str)
            and isinstance(fields[name].get("id"), str)
        )
    ]
    if missing:
        return None, None, f"the fields lack {', '.join(missing)} (or have them of the wrong type)"
    own = [name for name in _LOG_MEMBERS if name in fields]
    if own:
        return None, None, f"the fields name members the log sets itself: {', '.join(own)}"
    too_long = [
        f"{name} ({len(value)} > {limit})"
        for name, value, limit in (
            ("actor.type", fields["actor"]["type"], _LONGEST_ACTOR_TYPE),
            ("action", fields["action"], _LONGEST_ACTION),
            ("request_id", fields.get("request_id") or "", _LONGEST_REQUEST_ID),
        )
        if len(value) > limit
    ]
    if too_long:
        return None, None, f"the fields have members longer than their columns: {', '.join(too_long)}"
    return created_at, parsed, ""
