"""Admin-site changes are audited; governed rows (the audit log, tokens) are read-only there."""

from __future__ import annotations

import pytest

from audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_an_admin_changing_a_user_in_the_admin_site_is_audited(client, make_user) -> None:
    admin = make_user("root", "admin", password="admin pass phrase 123")
    person = make_user("pat", "data_scientist")
    client.force_login(admin)

    response = client.post(
        f"/admin/accounts/user/{person.pk}/change/", {"full_name": "Pat Q. Person", "is_active": "on"}
    )

    entry = AuditEntry.objects.filter(action="admin.change").get()
    assert response.status_code == 302
    assert entry.target_type == "accounts.user" and entry.target_id == str(person.pk)
    assert entry.actor_id == str(admin.pk)


def test_an_auditor_sees_the_audit_log_in_the_admin_but_cannot_change_it(client, make_user) -> None:
    auditor = make_user("aud", "auditor", password="auditor pass phrase 1")
    client.force_login(auditor)
    entry = AuditEntry.objects.first()

    listing = client.get("/admin/audit/auditentry/")
    change = client.post(f"/admin/audit/auditentry/{entry.pk}/change/", {"action": "forged"})
    delete = client.post(f"/admin/audit/auditentry/{entry.pk}/delete/", {"post": "yes"})

    assert listing.status_code == 200
    assert change.status_code == 403 or AuditEntry.objects.get(pk=entry.pk).action != "forged"
    assert delete.status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


@pytest.mark.parametrize(
    "path",
    [
        "registry/datasetfield",
        "registry/columnlineageedge",
        "registry/columncategory",
        "registry/qualityprofile",
    ],
)
def test_the_column_and_quality_rows_are_listed_read_only_in_the_admin(client, make_user, path) -> None:
    client.force_login(make_user("aud", "auditor"))

    assert client.get(f"/admin/{path}/").status_code == 200
    assert client.get(f"/admin/{path}/add/").status_code == 403
