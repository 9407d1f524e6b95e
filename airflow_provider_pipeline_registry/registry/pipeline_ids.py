"""Is a pipeline id in the registry? The one check ``runs list``, ``runs watch`` and the sensor share.

A pipeline is known when it has a config, or when runs are recorded under it (a pipeline whose
config was removed still has a history). An unknown id is :class:`UnknownPipelineError`, with the
registry's closest pipeline ids (``difflib.get_close_matches``) as a hint: a typo fails at once
instead of waiting for a run that can never come.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from .errors import UnknownPipelineError

if TYPE_CHECKING:
    from .facade import Registry

#: how many close ids the hint names, and how close they must be (difflib's ratio)
CLOSE_MATCHES = 3
CLOSE_MATCH_CUTOFF = 0.6


def pipeline_ids(registry: Registry) -> list[str]:
    """Every pipeline id with a config (a Scan projected on the key: for hints, not hot paths)."""
    page = registry.pipelines.gateway.scan(projection=["pipeline_id"])
    return sorted(str(item["pipeline_id"]["S"]) for item in page.items if "S" in item.get("pipeline_id", {}))


def close_pipeline_ids(registry: Registry, pipeline_id: str) -> list[str]:
    """The registry's pipeline ids closest to ``pipeline_id``, best first."""
    return difflib.get_close_matches(pipeline_id, pipeline_ids(registry), n=CLOSE_MATCHES, cutoff=CLOSE_MATCH_CUTOFF)


def require_known_pipeline(registry: Registry, pipeline_id: str) -> None:
    """Return when ``pipeline_id`` has runs or a config; else raise :class:`UnknownPipelineError`.

    Reads the run-logs index first (one query, limit 1), then the config (one GetItem); only an
    unknown id costs the scan of the config table's keys that finds the close ids.
    """
    if registry.runs.latest_summary(pipeline_id) is not None:
        return
    if registry.pipelines.find_entity(pipeline_id) is not None:
        return
    raise UnknownPipelineError(
        pipeline_id,
        close_matches=close_pipeline_ids(registry, pipeline_id),
        table=registry.config.table_name("pipeline_config"),
        key={"pipeline_id": pipeline_id},
    )
