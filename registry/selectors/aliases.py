"""Which alias and stage names of a model are governed: moved only under an approved release.

One answer for every way in (the MLflow API's set-alias, delete-alias and transition-stage, the REST
API, the admin site, a deploy job): a name is governed for a model when, compared case-insensitively,

1. it is one of ``GOVERNED_NAMES`` (MLflow's release stages ``Staging`` and ``Production`` are these
   aliases seen through the deprecated stage API), or
2. a higher layer's source names it (``governed_names_source``: the approvals app adds every
   environment a deploy policy names; the registry does not read policies itself), or
3. the model's alias of that name was last moved under a release (it names a deployment).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final

from registry.models import ModelAlias, RegisteredModel

# Names that mean "released" whatever the policies say.
GOVERNED_NAMES: Final = frozenset({"production", "staging", "champion"})

NamesSource = Callable[[], Iterable[str]]
_sources: list[NamesSource] = []


def governed_names_source(source: NamesSource) -> NamesSource:
    """Register a source of more governed names (called at app start by the layer that owns the data).

    The registry sits below the approvals app and never imports it; the layer above hands its answer
    down through this hook instead. Registering the same source twice keeps one.
    """
    if source not in _sources:
        _sources.append(source)
    return source


def governed_names(*, model: RegisteredModel | None = None) -> frozenset[str]:
    """Every governed name (lowercased) for ``model``; without a model, those governed for all models."""
    names = set(GOVERNED_NAMES)
    for source in _sources:
        names.update(name.lower() for name in source())
    if model is not None:
        released = ModelAlias.objects.filter(model=model).exclude(job_reference="")
        names.update(alias.lower() for alias in released.values_list("alias", flat=True))
    return frozenset(names)


def name_governed(*, model: RegisteredModel, name: str) -> bool:
    """Is the alias (or stage) ``name`` of ``model`` moved only under an approved release?"""
    return name.lower() in governed_names(model=model)
