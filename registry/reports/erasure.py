"""Which privacy requests block model versions and deployments: a hook the registry owns, filled in by
the consent app when it starts.

The registry sits below consent and never imports it, yet its model and lineage pages and every
lineage report must say when an erasure blocks what they show (issue 17: the erasure was visible only
in a privacy request's raw JSON). Consent registers ``erasure_blocks_for`` here in
``ConsentConfig.ready``; with nothing registered the notices are empty.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from registry.reports.types import ErasureBlock

ErasureBlocksSource = Callable[[Iterable[str]], list[ErasureBlock]]
_sources: list[ErasureBlocksSource] = []


def erasure_blocks_source(source: ErasureBlocksSource) -> ErasureBlocksSource:
    """Register where the notices come from; registering the same source twice keeps one."""
    if source not in _sources:
        _sources.append(source)
    return source


def erasure_blocks(node_ids: Iterable[str]) -> list[ErasureBlock]:
    """The requests blocking any model version among ``node_ids`` or served by a deployment among them,
    oldest request first."""
    wanted = sorted(set(node_ids))
    blocks = [block for source in _sources for block in source(wanted)]
    return sorted(blocks, key=lambda block: block["request"])


def erasure_sentence(block: ErasureBlock) -> str:
    """The notice as one plain sentence (PDF, CSV); the HTML forms link the request."""
    serving = f" Still serving it: {', '.join(block['deployments'])}." if block["deployments"] else ""
    return (
        f"{block['type'].capitalize()} request #{block['request']} ({block['law']}; {block['status']}, "
        f"answer due {block['respond_by']}; {block['url']}): the data subject's rows are in "
        f"{', '.join(block['held_in'])}. Deploying {', '.join(block['model_versions'])} is refused until "
        f"it is retrained without the subject or a compliance officer records an exemption.{serving}"
    )
