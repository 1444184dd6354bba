"""Who may call the approvals API: the roles of each operation, as role tuples (for views that carry
two operations on one path with ``governance.core.api.MethodRoles``) and as permission classes."""

from __future__ import annotations

from governance.core.permissions import roles_allowed
from governance.core.roles import Role

EVERY_ROLE = tuple(Role)
ADMIN_ROLES = (Role.ADMIN,)
RELEASE_READER_ROLES = (Role.DATA_SCIENTIST, Role.PIPELINE, Role.COMPLIANCE_OFFICER, Role.AUDITOR)
REQUESTER_ROLES = (Role.DATA_SCIENTIST, Role.PIPELINE)
# The roles a policy may name as signers (rules.SIGNER_ROLES); the service checks the policy's own list.
SIGNER_ROLES = (Role.COMPLIANCE_OFFICER, Role.DATA_SCIENTIST)

ANY_ROLE = roles_allowed(*EVERY_ROLE)
ADMINS = roles_allowed(*ADMIN_ROLES)
RELEASE_READERS = roles_allowed(*RELEASE_READER_ROLES)
REQUESTERS = roles_allowed(*REQUESTER_ROLES)
SIGNERS = roles_allowed(*SIGNER_ROLES)
HISTORY_READERS = roles_allowed(Role.COMPLIANCE_OFFICER, Role.AUDITOR)
