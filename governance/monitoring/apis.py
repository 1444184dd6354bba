"""Monitoring API: the latest drift results, a check on demand, ground-truth labels."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.actors import actor_from_request
from governance.core.errors import NotFound
from governance.core.permissions import roles_allowed
from governance.core.roles import Role
from governance.monitoring import selectors
from governance.monitoring.models import DriftCheck, WebhookDelivery
from governance.monitoring.services import MAX_LABELS, drift_check_run, labels_record
from registry.models import Deployment
from registry.selectors.deployments import deployment_serving_get

LABELLERS = roles_allowed(Role.PIPELINE, Role.DATA_SCIENTIST)
CHECKERS = roles_allowed(Role.PIPELINE, Role.DATA_SCIENTIST, Role.COMPLIANCE_OFFICER)
READERS = roles_allowed(Role.PIPELINE, Role.DATA_SCIENTIST, Role.COMPLIANCE_OFFICER, Role.AUDITOR)


class DriftCheckOutputSerializer(serializers.ModelSerializer[DriftCheck]):
    model_version = serializers.IntegerField(source="model_version.version")
    retraining_release = serializers.IntegerField(source="retraining_release_id", allow_null=True)

    class Meta:
        model = DriftCheck
        fields = [
            "id",
            "model_version",
            "window_start",
            "window_end",
            "samples",
            "conclusive",
            "alarm",
            "retraining_release",
            "checked_by",
            "created_at",
            "result",
        ]


class WebhookDeliveryOutputSerializer(serializers.ModelSerializer[WebhookDelivery]):
    check = serializers.IntegerField(source="drift_check_id")

    class Meta:
        model = WebhookDelivery
        fields = ["id", "check", "url", "status", "attempts", "created_at", "finished_at"]


def _deployment(environment: str, model: str) -> Deployment:
    found = selectors.deployment_any(environment=environment, model_name=model)
    if found is None:
        raise NotFound(f"model {model!r} was never deployed to {environment!r}")
    return found


class MonitoringDetailApi(APIView):
    """The deployment's drift thresholds, its latest checks (newest first) and webhook deliveries,
    failed ones included."""

    permission_classes = [READERS]

    class MonitoringOutputSerializer(serializers.Serializer[Any]):
        deployment = serializers.CharField()
        serving = serializers.BooleanField()
        thresholds = serializers.DictField(child=serializers.FloatField())
        checks = DriftCheckOutputSerializer(many=True)
        webhooks = WebhookDeliveryOutputSerializer(many=True)

    @extend_schema(responses=MonitoringOutputSerializer)
    def get(self, request: Request, environment: str, model: str) -> Response:
        deployment = _deployment(environment, model)
        return Response(
            self.MonitoringOutputSerializer(
                {
                    "deployment": deployment.node_id,
                    "serving": deployment.until is None,
                    "thresholds": selectors.thresholds_for(deployment),
                    "checks": selectors.checks_latest(deployment=deployment),
                    "webhooks": selectors.deliveries_latest(deployment=deployment),
                }
            ).data
        )


class MonitoringCheckApi(APIView):
    """Run a drift check of the serving deployment now (201, the check; an alarm opens a retraining
    request that waits for sign-off). 409 when the version has no reference profile."""

    permission_classes = [CHECKERS]

    @extend_schema(request=None, responses={201: DriftCheckOutputSerializer})
    def post(self, request: Request, environment: str, model: str) -> Response:
        deployment = deployment_serving_get(environment=environment, model_name=model)
        check = drift_check_run(deployment=deployment, actor=actor_from_request(request))
        return Response(DriftCheckOutputSerializer(check).data, status=status.HTTP_201_CREATED)


class LabelItemSerializer(serializers.Serializer[Any]):
    prediction_id = serializers.UUIDField()
    label = serializers.JSONField()  # type: ignore[assignment]  # DRF's Field.label is not a field


class LabelsRecordApi(APIView):
    """Post ground truth for predictions this model served in ``environment``:
    ``{"labels": [{"prediction_id": ..., "label": ...}]}`` (ids from the predict response)."""

    permission_classes = [LABELLERS]

    class LabelsInputSerializer(serializers.Serializer[Any]):
        labels = serializers.ListField(child=LabelItemSerializer(), min_length=1, max_length=MAX_LABELS)

    class LabelsOutputSerializer(serializers.Serializer[Any]):
        deployment = serializers.CharField()
        recorded = serializers.IntegerField()

    @extend_schema(request=LabelsInputSerializer, responses={201: LabelsOutputSerializer})
    def post(self, request: Request, environment: str, model: str) -> Response:
        incoming = self.LabelsInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        deployment = _deployment(environment, model)
        recorded = labels_record(
            actor=actor_from_request(request), deployment=deployment, labels=incoming.validated_data["labels"]
        )
        return Response(
            {"deployment": deployment.node_id, "recorded": recorded}, status=status.HTTP_201_CREATED
        )
