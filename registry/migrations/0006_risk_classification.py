"""Risk classifications: every decision on a model's EU AI Act risk level, kept as a row.

Each existing model gets the row of the level it holds now, decided by its owner when it was
registered (the earlier history is in the audit log's model.create and model.update entries)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def record_current_levels(apps, schema_editor):
    RegisteredModel = apps.get_model("registry", "RegisteredModel")
    RiskClassification = apps.get_model("registry", "RiskClassification")
    RiskClassification.objects.bulk_create(
        RiskClassification(
            model_id=model.pk,
            risk_level=model.risk_level,
            decided_by_id=model.owner_id,
            decided_at=model.created_at,
        )
        for model in RegisteredModel.objects.all()
    )


class Migration(migrations.Migration):

    dependencies = [
        ("registry", "0005_model_version_provenance"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="RiskClassification",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "risk_level",
                    models.CharField(
                        choices=[
                            ("minimal", "Minimal"),
                            ("limited", "Limited"),
                            ("high", "High"),
                            ("unacceptable", "Unacceptable"),
                        ],
                        max_length=16,
                    ),
                ),
                ("previous_level", models.CharField(blank=True, max_length=16)),
                ("reclassified", models.BooleanField(default=False)),
                ("reason", models.TextField(blank=True)),
                ("decided_at", models.DateTimeField()),
                (
                    "decided_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "model",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="risk_classifications",
                        to="registry.registeredmodel",
                    ),
                ),
            ],
            options={
                "ordering": ["model", "decided_at", "pk"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("risk_level__in", ["minimal", "limited", "high", "unacceptable"])),
                        name="risk_classification_level_valid",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("reclassified", False), models.Q(("reason", ""), _negated=True), _connector="OR"),
                        name="risk_reclassification_has_reason",
                    ),
                ],
            },
        ),
        migrations.RunPython(record_current_levels, migrations.RunPython.noop),
    ]
