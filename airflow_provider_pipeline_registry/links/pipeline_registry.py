"""The operators' and sensor's extra links: "Registry run" and "Spark UI".

Each registry task persists its run at execute time with :func:`persist_run_links` (pipeline id,
run id, and the Spark UI address the run had recorded when the task read it): the load and start
operators once their run id is known, the end operator once it has read the run (before it records
or reports the end), the sensor when its wait ends (from the run it read). The links are formatted
from that and nothing else (see :mod:`.base`): never guessed, never read from DynamoDB while a page
renders. The "Spark UI" link is therefore known on the tasks that ran after the Spark job recorded
its UI (the end operator's, the sensor's), not on the start operator's.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import BaseOperatorLink

from ..utils.ui_paths import run_page_path
from .base import RegistryBaseLink


def _web_url(value: Any) -> str | None:
    """``value`` when it is an http(s) URL (never ``javascript:`` or another scheme), else None."""
    return value if isinstance(value, str) and value.lower().startswith(("http://", "https://")) else None


class RegistryRunLink(RegistryBaseLink):
    """The run's page in the Pipeline Registry UI (inside Airflow's UI; a path, no host)."""

    name = "Registry run"

    def format_link(self, **values: Any) -> str:
        pipeline_id, run_id = values.get("pipeline_id"), values.get("run_id")
        if not (isinstance(pipeline_id, str) and pipeline_id and isinstance(run_id, str) and run_id):
            return ""
        return run_page_path(pipeline_id, run_id)


class SparkUILink(RegistryBaseLink):
    """The Spark UI of the run's application, as the run had recorded it (``spark_ui_url``)."""

    name = "Spark UI"

    def format_link(self, **values: Any) -> str:
        return _web_url(values.get("spark_ui_url")) or ""


def persist_run_links(
    context: Any, operator: Any, *, pipeline_id: str, run_id: str, spark_ui_url: str | None = None
) -> None:
    """Persist what the links of ``operator`` need: the run it worked on, and the Spark UI address
    the run recorded (None when not known yet). Call it in ``execute`` once the run id is known."""
    RegistryBaseLink.persist(
        context, operator, pipeline_id=pipeline_id, run_id=run_id, spark_ui_url=_web_url(spark_ui_url)
    )


#: the link classes, in the order the UI shows them
REGISTRY_LINKS: tuple[type[RegistryBaseLink], ...] = (RegistryRunLink, SparkUILink)


def registry_links() -> tuple[BaseOperatorLink, ...]:
    """Instances of the provider's links, for an operator's ``operator_extra_links``."""
    return tuple(link() for link in REGISTRY_LINKS)


__all__ = ["REGISTRY_LINKS", "RegistryRunLink", "SparkUILink", "persist_run_links", "registry_links"]
