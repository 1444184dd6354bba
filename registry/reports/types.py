"""The lineage report document: the one JSON shape the Django side fills in and every renderer reads.

The graph part (``nodes`` and ``edges``) follows the W3C PROV data model (PROV-DM,
https://www.w3.org/TR/prov-dm/): dataset and model versions are *entities*, runs and
deployments are *activities*, people and pipelines are *agents*. Every edge points in the
PROV direction, i.e. from the later thing to the earlier thing it depends on:

========================  ==============================  ==========================================
``relation``              ``source`` → ``target``         meaning (PROV-DM term)
========================  ==============================  ==========================================
``used``                  run or deployment → entity      the activity used the entity (§5.1.4 Usage)
``wasGeneratedBy``        entity → run                    the entity was produced by the run
                                                          (§5.1.3 Generation)
``wasDerivedFrom``        entity → entity                 the source was derived from the target
                                                          (§5.2.1 Derivation)
``deployedAs``            model version → deployment      the model version is served by the
                                                          deployment; the one edge pointing
                                                          forward in time. In PROV it becomes
                                                          ``used(deployment, model version)``
``versionOf``             version → dataset or model      the version is a specialisation of the
                                                          general dataset or model
                                                          (§5.5.1 Specialization)
========================  ==============================  ==========================================

Run events arriving from pipelines use the OpenLineage 2-0-2 object model
(https://openlineage.io/spec/2-0-2/OpenLineage.json); ``runs[].run_id`` is the OpenLineage
``run.runId`` and ``runs[].job`` is ``job.namespace/job.name``.

All timestamps are UTC ISO 8601 strings ending in ``Z`` (RFC 3339 §5.6).
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypeAlias, TypedDict

NodeType = Literal["dataset", "dataset_version", "job", "run", "model", "model_version", "deployment"]
Relation = Literal["used", "wasGeneratedBy", "wasDerivedFrom", "deployedAs", "versionOf"]
ApprovalMeaning = Literal["approved", "rejected", "reviewed"]

NODE_TYPES: tuple[NodeType, ...] = (
    "dataset",
    "dataset_version",
    "job",
    "run",
    "model",
    "model_version",
    "deployment",
)
RELATIONS: tuple[Relation, ...] = ("used", "wasGeneratedBy", "wasDerivedFrom", "deployedAs", "versionOf")

AttributeValue: TypeAlias = str | int | float | bool | None
JSONValue: TypeAlias = "str | int | float | bool | list[JSONValue] | dict[str, JSONValue] | None"


class ReportNode(TypedDict):
    """One vertex of the lineage graph."""

    id: str
    type: NodeType
    label: str
    attributes: dict[str, AttributeValue]


class ReportEdge(TypedDict):
    """One PROV-directed edge; see the module docstring for the direction of each relation."""

    source: str
    target: str
    relation: Relation


class ConsentSummary(TypedDict):
    """How the people in a dataset consented (e.g. ``{"granted": 980, "withdrawn": 20}``)."""

    summary: str
    counts: dict[str, int]


class DatasetEntry(TypedDict):
    """A dataset version as an input to training; ``node`` is its ``dataset_version`` node id."""

    node: str
    name: str
    namespace: str
    version: str
    sha256: str
    rows: int | None
    holds_personal_data: bool
    consent: ConsentSummary | None


class RunEntry(TypedDict):
    """A pipeline run (an OpenLineage run); ``node`` is its ``run`` node id."""

    node: str
    run_id: str
    job: str
    started_at: str | None
    ended_at: str | None
    started_by: str
    code_version: str
    parameters: dict[str, JSONValue]
    metrics: dict[str, JSONValue]


class ModelEntry(TypedDict):
    """A registered model version; ``node`` is its ``model_version`` node id."""

    node: str
    name: str
    version: str
    sha256: str
    framework: str
    registered_at: str
    registered_by: str
    # Its form and provenance ("skops + ONNX; trained here, run:...; signed by key ..."), or why it is
    # not deployable.
    artifact: NotRequired[str]


class ApprovalEntry(TypedDict):
    """An electronic signature.

    21 CFR Part 11 §11.50(a) requires a signed record to show the signer's printed name, the
    date and time of signing and its meaning; ``covers`` lists the SHA-256 digests of the
    artefacts (dataset and model versions) the signature applies to.
    """

    request: str
    signer_name: str
    signed_at: str
    meaning: ApprovalMeaning
    comment: str
    covers: list[str]


class DeploymentEntry(TypedDict):
    """A model version serving in an environment; ``node`` is its ``deployment`` node id."""

    node: str
    environment: str
    model: str
    version: str
    deployed_at: str
    deployed_by: str
    until: str | None
    endpoint: str


class AuditEntryRow(TypedDict):
    """One leaf of the append-only audit log that concerns the report's subject."""

    index: int
    action: str
    timestamp: str
    target: str


class AuditSection(TypedDict):
    """The audit log state the report was produced against.

    ``checkpoint`` is the signed note text (origin line, tree size, root hash, signature lines)
    so a reader can verify the entries against the log offline.
    """

    origin: str
    tree_size: int
    checkpoint: str
    entries: list[AuditEntryRow]


class ErasureBlock(TypedDict):
    """A pending or done erasure or deletion request (GDPR Art. 17, CCPA §1798.105) whose data subject is
    in a dataset version upstream of model versions in the report: deploys of those versions are
    refused until they are retrained without the subject or exempted; ``deployments`` still serve one.
    ``url`` is the request's page in the console. ``dataset_versions``: pinned versions that hold the
    subject, so training on them is refused (a training request's page names them); ``detail``: what
    is blocked and how to lift it, in words (``registry.reports.erasure.erasure_detail``)."""

    request: int
    type: str
    status: str
    law: str
    url: str
    received_at: str
    respond_by: str
    model_versions: list[str]
    deployments: list[str]
    held_in: list[str]
    dataset_versions: list[str]
    detail: str


class ColumnFeedEntry(TypedDict):
    """What an input column was used to compute: a column of a dataset version (``column`` "" for the
    whole dataset, as a filter or join), and how (OpenLineage ``type/subtype``, e.g. DIRECT/IDENTITY)."""

    node: str
    column: str
    transformation: str
    description: str
    masking: bool | None


class InputColumnEntry(TypedDict):
    """A column behind the report's model versions (``registry.selectors.columns``): ``hops`` 0 for a
    column of data the training run read, n for one n column-lineage steps further upstream.
    ``categories`` are fideslang keys (the producer's tags and the dataset registry's declaration);
    ``personal``: one is under ``user``; ``sensitive``: one is a GDPR Art. 9/10 special category.
    ``node`` is the dataset version's node id (the dataset's when the version read is unknown)."""

    node: str
    namespace: str
    name: str
    version: str | None
    column: str
    type: str
    categories: list[str]
    personal: bool
    sensitive: bool
    hops: int
    feeds: list[ColumnFeedEntry]
    # Personal columns upstream whose values this one was computed from, unmasked (DIRECT lineage).
    derived_from_personal: list[str]


class LineageReport(TypedDict):
    """The whole report; ``subject`` is the node id the report is about."""

    title: str
    subject: str
    generated_at: str
    nodes: list[ReportNode]
    edges: list[ReportEdge]
    datasets: list[DatasetEntry]
    runs: list[RunEntry]
    models: list[ModelEntry]
    approvals: list[ApprovalEntry]
    deployments: list[DeploymentEntry]
    audit: AuditSection
    # Filled by the consent app through ``registry.reports.erasure``; absent in reports made without it.
    erasure_blocks: NotRequired[list[ErasureBlock]]
    # The input columns behind the model versions in the report (``registry.reports.columns``).
    input_columns: NotRequired[list[InputColumnEntry]]
