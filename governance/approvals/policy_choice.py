"""Choosing the policy version a release request is judged under (governance.approvals.strictness):
the strictest active policy covering it; a named policy only picks among equally strict ones."""

from __future__ import annotations

from governance.approvals import selectors, strictness
from governance.approvals.models import PolicyVersion
from governance.core.errors import ValidationFailed

# Problems with their own error code; the rest are plain validation errors.
_CODED = (strictness.POLICY_WEAKER, strictness.POLICIES_CONFLICT)


def policy_version_choose(*, named: str, kind: str, environment: str, risk_level: str) -> PolicyVersion:
    """The policy version for the request, or a 400 saying which policy it needs and why."""
    in_force = selectors.policy_versions_in_force(kind=kind)
    choice = strictness.policy_choose(
        {name: version.spec() for name, version in in_force.items()},
        kind=kind,
        environment=environment,
        risk_level=risk_level,
        named=named,
    )
    if not choice.name:
        code = choice.code if choice.code in _CODED else None
        extra = {"required_policy": list(choice.required)} if choice.required else None
        raise ValidationFailed(choice.problem, code=code, extra=extra)
    return in_force[choice.name]
