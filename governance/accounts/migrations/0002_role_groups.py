from __future__ import annotations

from django.db import migrations

ROLES = ["data_scientist", "compliance_officer", "auditor", "pipeline", "admin"]


def create_groups(apps, schema_editor):
    # Permissions are attached after migrate (roles.sync_role_permissions): they exist only then.
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
