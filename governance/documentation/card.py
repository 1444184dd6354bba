"""The model card: the documentation's short summary (after Mitchell et al., "Model Cards for Model
Reporting", 2019), each line from the same records as the Annex IV sections, or ``NO_EVIDENCE``."""

from __future__ import annotations

from governance.documentation.data_evidence import bias_metrics
from governance.documentation.evidence import as_dict, person, text
from governance.documentation.facts import Facts
from governance.documentation.types import NO_EVIDENCE, CardEntry


def _entry(heading: str, text_: str, sources: list[str]) -> CardEntry:
    return {"heading": heading, "text": text_ or NO_EVIDENCE, "sources": sources if text_ else []}


def _data(facts: Facts) -> CardEntry:
    parts = []
    for version in facts.datasets:
        profile = facts.profiles.get(version.pk)
        rows = f", {version.row_count} rows" if version.row_count is not None else ""
        quality = f"; quality profile sha256 {profile.sha256}" if profile else "; no quality profile recorded"
        parts.append(f"{version.node_id} (sha256 {version.sha256 or 'none'}{rows}{quality})")
    return _entry("Training data", "; ".join(parts), [one.node_id for one in facts.datasets])


def _bias(facts: Facts) -> CardEntry:
    version = facts.version
    data = as_dict(version.bias_examination)
    figures = bias_metrics(as_dict(version.metrics))
    for key in ("demographic_parity_difference", "equalized_odds_difference"):
        if key not in figures and data.get(key) is not None:
            figures[key] = data[key]
    if not figures and not data:
        return _entry("Bias examination", "", [])
    said = ", ".join(f"{key.replace('_', ' ')} {text(value)}" for key, value in sorted(figures.items()))
    where = (
        f" on {data.get('rows')} {data.get('evaluated_on', 'rows')}" if data.get("rows") is not None else ""
    )
    library = f" ({data['library']})" if data.get("library") else ""
    return _entry("Bias examination", f"{said or 'examined'}{where}{library}", [version.node_id])


def model_card(facts: Facts) -> list[CardEntry]:
    version = facts.version
    model = version.model
    metrics = as_dict(version.metrics)
    overseers = sorted({person(one.human_overseer) for one in facts.releases if one.human_overseer})
    signed = [
        f"{signature.printed_name} ({signature.meaning}, release:{release.pk})"
        for release in facts.releases
        for signature in release.signatures.all()
        if signature.revoked_at is None
    ]
    serving = [one.node_id for one in facts.deployments if one.until is None]
    return [
        _entry(
            "Model",
            f"{model.name} version {version.version}, risk level {model.risk_level}",
            [version.node_id],
        ),
        _entry("Intended purpose", model.intended_use, [f"model:{model.name}"]),
        _entry("Provider (owner)", person(model.owner), [f"model:{model.name}"]),
        _entry(
            "Training data",
            _data(facts)["text"] if facts.datasets else "",
            [one.node_id for one in facts.datasets],
        ),
        _entry(
            "Metrics",
            ", ".join(f"{key} {text(value)}" for key, value in sorted(metrics.items()))
            + (f" ({version.metrics_source})" if metrics else ""),
            [version.node_id],
        ),
        _bias(facts),
        _entry("Human oversight", ", ".join(overseers), [f"release:{one.pk}" for one in facts.releases]),
        _entry("Sign-offs", "; ".join(signed), [f"release:{one.pk}" for one in facts.releases]),
        _entry("Serving", ", ".join(serving), serving),
        _entry("Limitations", "", []),
        _entry("Ethical considerations and caveats", "", []),
    ]
