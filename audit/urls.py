from __future__ import annotations

from django.urls import path

from audit import apis

urlpatterns = [
    path("checkpoint", apis.CheckpointApi.as_view(), name="audit-checkpoint"),
    path("public-key", apis.PublicKeyApi.as_view(), name="audit-public-key"),
    path("entries", apis.EntryListApi.as_view(), name="audit-entries"),
    path("proof/inclusion", apis.InclusionProofApi.as_view(), name="audit-proof-inclusion"),
    path("proof/consistency", apis.ConsistencyProofApi.as_view(), name="audit-proof-consistency"),
    path("export", apis.ExportApi.as_view(), name="audit-export"),
]
