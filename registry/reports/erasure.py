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


def erasure_label(block: ErasureBlock) -> str:
    return f"{block['type'].capitalize()} request #{block['request']}"


def erasure_detail(block: ErasureBlock) -> str:
    """What the request blocks and how to lift it, after its label (``"(GDPR Art. 17; ...): ..."``)."""
    parts = [
        f"({block['law']}; {block['status']}, answer due {block['respond_by']}): the data subject's rows "
        f"are in {', '.join(block['held_in'])}."
    ]
    if block["model_versions"]:
        parts.append(
            f"Deploying {', '.join(block['model_versions'])} is refused until it is retrained without the "
            "subject or a compliance officer records an exemption."
        )
    if block["dataset_versions"]:
        parts.append(
            f"Training on {', '.join(block['dataset_versions'])} is refused: request training on the "
            "version the erasure writes without the subject."
        )
    if block["deployments"]:
        parts.append(f"Still serving it: {', '.join(block['deployments'])}.")
    return " ".join(parts)


def erasure_sentence(block: ErasureBlock) -> str:
    """The notice as one plain sentence with the request's page (PDF, CSV); HTML links the label."""
    return f"{erasure_label(block)} {erasure_detail(block)} See {block['url']}."
