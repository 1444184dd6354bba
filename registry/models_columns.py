"""Columns: the fields of dataset versions and the column-level lineage between them.

From OpenLineage's ``schema`` facet (SchemaDatasetFacet: name, type, description, nested ``fields``,
stored as dotted paths) and ``columnLineage`` facet (ColumnLineageDatasetFacet 1-2-0: for each output
field, the input fields it was computed from and how). Per-column fideslang data categories come from
the producer (a ``tags`` dataset facet entry with ``field`` and key ``fideslang``) and from the
dataset registry (``ColumnCategory``). Imported at the end of ``registry.models``.
"""

from __future__ import annotations

from django.db import models


class DatasetField(models.Model):
    """One column of a dataset version: a schema field (a nested one as ``parent.child``), or a field
    column lineage names (type and description then unknown)."""

    version = models.ForeignKey("registry.DatasetVersion", on_delete=models.PROTECT, related_name="fields")
    name = models.CharField(max_length=1000)
    type = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    # fideslang data categories the producer tagged the column with (e.g. "user.contact.email").
    data_categories = models.JSONField(default=list, blank=True)
    position = models.PositiveIntegerField(default=0)  # order in the schema facet (0: not in one)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["version", "position", "name"]
        constraints = [models.UniqueConstraint(fields=["version", "name"], name="dataset_field_unique")]

    def __str__(self) -> str:
        return f"{self.version_id}.{self.name}"


class ColumnLineageEdge(models.Model):
    """An output field computed from an input field, with one transformation (OpenLineage 1-2-0:
    ``type`` DIRECT or INDIRECT, ``subtype`` IDENTITY, TRANSFORMATION, AGGREGATION, FILTER, JOIN...).

    ``output_field`` is "" for the facet's dataset-level dependencies (a filter or join that affects
    every row). ``input_version`` is the version the run read; null when the input dataset was not
    among the run's inputs (then only its namespace and name are known). ``key`` is the SHA-256 of
    the edge's identity, so a replayed event adds nothing.
    """

    output_version = models.ForeignKey(
        "registry.DatasetVersion", on_delete=models.PROTECT, related_name="column_inputs"
    )
    output_field = models.CharField(max_length=1000, blank=True)
    input_namespace = models.CharField(max_length=200)
    input_name = models.CharField(max_length=300)
    input_version = models.ForeignKey(
        "registry.DatasetVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="column_outputs",
    )
    input_field = models.CharField(max_length=1000)
    transformation_type = models.CharField(max_length=32, blank=True)  # "" when the producer says none
    transformation_subtype = models.CharField(max_length=64, blank=True)
    description = models.TextField(blank=True)
    masking = models.BooleanField(null=True, blank=True)
    key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        source = f"{self.input_namespace}:{self.input_name}.{self.input_field}"
        return f"{source} -[{self.transformation_type or '?'}]-> {self.output_version_id}.{self.output_field}"


class ColumnCategory(models.Model):
    """The dataset registry's fideslang categories for one column of a dataset, in every version."""

    dataset = models.ForeignKey(
        "registry.Dataset", on_delete=models.PROTECT, related_name="column_categories"
    )
    column = models.CharField(max_length=1000)
    data_categories = models.JSONField(default=list)
    declared_at = models.DateTimeField()

    class Meta:
        ordering = ["dataset", "column"]
        constraints = [models.UniqueConstraint(fields=["dataset", "column"], name="column_category_unique")]

    def __str__(self) -> str:
        return f"{self.dataset}.{self.column}: {', '.join(self.data_categories)}"
