"""Where each lineage node lives in the console, for the lineage page's clickable graph.

Model versions open their model's page, deployments their monitoring page, dataset versions and runs
the searchable lists (``/datasets/``, ``/runs/``) filtered to them. Reports made for download carry no
links: they are read away from the service.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode


def node_page_url(node_id: str, node_type: str) -> str:
    """The console page of a node, or ``""`` when it has none."""
    _, _, rest = node_id.partition(":")
    if node_type in {"model", "model_version"}:
        name = rest.rpartition("#")[0] or rest
        return f"/models/{quote(name, safe='')}/"
    if node_type == "deployment":
        environment, _, model = rest.partition(":")
        return f"/deployments/{quote(environment, safe='')}/{quote(model, safe='')}/"
    if node_type in {"dataset", "dataset_version"}:
        name = rest.partition("#")[0].rpartition(":")[2]
        return "/datasets/?" + urlencode({"q": name})
    if node_type == "run":
        return "/runs/?" + urlencode({"q": rest})
    if node_type == "job":
        return "/runs/?" + urlencode({"q": rest.rpartition(":")[2]})
    return ""
