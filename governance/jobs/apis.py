"""Jobs API: run an approved release, follow its job, serve predictions, stop a deployment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.actors import actor_from_request
from governance.accounts.permissions import request_user
from governance.approvals.selectors import release_get
from governance.core.errors import NotFound
from governance.core.permissions import roles_allowed
from governance.core.roles import Role
from governance.jobs import serving
from governance.jobs.enqueue import job_enqueue
from governance.jobs.models import ReleaseJob
from governance.jobs.throttling import PredictRateThrottle
from registry.services.stopping import deployment_stop

RUNNERS = roles_allowed(Role.DATA_SCIENTIST, Role.PIPELINE)
READERS = roles_allowed(Role.DATA_SCIENTIST, Role.PIPELINE, Role.COMPLIANCE_OFFICER, Role.AUDITOR)
PREDICTORS = roles_allowed(Role.DATA_SCIENTIST, Role.PIPELINE)
# A human overseer stops a system (EU AI Act Art. 14): compliance officers and data scientists.
STOPPERS = roles_allowed(Role.COMPLIANCE_OFFICER, Role.DATA_SCIENTIST)


class JobOutputSerializer(serializers.ModelSerializer[ReleaseJob]):
    release = serializers.IntegerField(source="release_id")
    requested_by = serializers.CharField(source="requested_by.username")

    class Meta:
        model = ReleaseJob
        fields = [
            "id",
            "release",
            "kind",
            "status",
            "stage",
            "percent",
            "attempt",
            "queue",
            "grant_id",
            "requested_by",
            "worker",
            "created_at",
            "started_at",
            "heartbeat_at",
            "finished_at",
            "error",
            "result",
        ]


class ReleaseRunApi(APIView):
    """Queue the job of an approved release (201). 409 with the reason when it has no valid grant:
    pending, rejected, withdrawn, expired, revoked, or already run."""

    permission_classes = [RUNNERS]

    @extend_schema(request=None, responses={201: JobOutputSerializer})
    def post(self, request: Request, release_id: str) -> Response:
        job = job_enqueue(
            actor=actor_from_request(request), release=release_get(pk=release_id), by=request_user(request)
        )
        return Response(JobOutputSerializer(job).data, status=status.HTTP_201_CREATED)


class JobDetailApi(APIView):
    """A job's state, stage and percent done (and, when done, what it made or why it stopped)."""

    permission_classes = [READERS]

    @extend_schema(responses=JobOutputSerializer)
    def get(self, request: Request, job_id: int) -> Response:
        job = ReleaseJob.objects.select_related("requested_by").filter(pk=job_id).first()
        if job is None:
            raise NotFound(f"no job {job_id!r}")
        return Response(JobOutputSerializer(job).data)


class PredictApi(APIView):
    """Predictions from the version serving ``environment``: ``{"rows": [{feature: value}, ...]}`` in,
    the predictions and the model version that made them out.

    The rows are checked once, by the service against the version's input schema, while they become
    numpy columns (the input serializer documents the body; running it would walk every value twice)."""

    permission_classes = [PREDICTORS]
    throttle_classes = [PredictRateThrottle]

    class PredictInputSerializer(serializers.Serializer[Any]):
        rows = serializers.ListField(child=serializers.DictField(), min_length=1, max_length=serving.MAX_ROWS)

    class PredictOutputSerializer(serializers.Serializer[Any]):
        model = serializers.CharField()
        model_version = serializers.IntegerField()
        environment = serializers.CharField()
        deployment = serializers.IntegerField()
        predictions = serializers.ListField(child=serializers.JSONField())
        prediction_ids = serializers.ListField(
            child=serializers.CharField(),
            allow_null=True,
            help_text="One id per prediction, to post its true label later; null when the request was not "
            "sampled for monitoring.",
        )

    @extend_schema(request=PredictInputSerializer, responses=PredictOutputSerializer)
    def post(self, request: Request, environment: str, model: str) -> Response:
        body = request.data
        result = serving.predict(
            environment=environment,
            model_name=model,
            rows=body.get("rows") if isinstance(body, Mapping) else None,
            actor=actor_from_request(request),
        )
        return Response(result)


class DeploymentStopApi(APIView):
    """Take the model's deployment in ``environment`` out of service at once, with a reason (audited)."""

    permission_classes = [STOPPERS]

    class StopInputSerializer(serializers.Serializer[Any]):
        reason = serializers.CharField(max_length=2000)

    class StopOutputSerializer(serializers.Serializer[Any]):
        deployment = serializers.IntegerField(source="pk")
        environment = serializers.CharField()
        model_version = serializers.CharField(source="model_version.node_id")
        until = serializers.DateTimeField()

    @extend_schema(request=StopInputSerializer, responses=StopOutputSerializer)
    def post(self, request: Request, environment: str, model: str) -> Response:
        incoming = self.StopInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        deployment = deployment_stop(
            actor=actor_from_request(request),
            environment=environment,
            model_name=model,
            reason=incoming.validated_data["reason"],
        )
        return Response(self.StopOutputSerializer(deployment).data)
