"""Policies may bar more people from signing (signer_exclusions); a release request names the
compliance officer's risk reclassification its risk level starts from."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("approvals", "0002_policyversion_monitoring"),
        ("registry", "0006_risk_classification"),
    ]

    operations = [
        migrations.AddField(
            model_name="policyversion",
            name="signer_exclusions",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AddField(
            model_name="releaserequest",
            name="risk_classification",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="registry.riskclassification",
            ),
        ),
    ]
