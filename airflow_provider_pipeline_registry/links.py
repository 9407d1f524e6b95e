"""Extra links of the provider's operators and sensor: "Registry run" and "Spark UI".

The run id comes from the task's return value, the one XCom every registry task pushes when it
succeeds (``StartPipelineRunOperator`` returns the run id; ``LoadPipelineConfigOperator``, the end
operator and the sensor return a mapping holding it). The pipeline id is the operator's (rendered)
``pipeline_id``, or the one in the return value. No other key is read: on Airflow 3, reading an XCom
a task never pushed logs ``[error] XCom not found`` in the task's log (the task SDK's client logs
every 404 at error level), so a link never asks for one that may be missing: not when the task
pushes no return value (``do_xcom_push=False``), and not when the task did not succeed (its return
value was not pushed; the state is known in the worker, where Airflow 3 computes the links).

On Airflow 3 the links are computed in the worker when the task ends and stored in XCom, so the
"Spark UI" link shows the Spark UI address the run had by then (known once the Spark job started:
the sensor's and the end operator's tasks carry it; the start operator's usually not). An empty
link is what Airflow shows as "no link". Cheap to import: nothing here imports boto3.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

from .plugins.options import run_page_path

log = logging.getLogger(__name__)


#: the only XCom key the links read: the task's return value
RETURN_VALUE_KEY = "return_value"


def _returned_value(operator: Any, ti_key: Any) -> Any:
    """The task's return value, or None, without asking for an XCom that cannot exist."""
    if getattr(operator, "do_xcom_push", True) is False:
        return None
    state = getattr(ti_key, "state", None)  # a RuntimeTaskInstance in an Airflow 3 worker; a key on 2.x
    if state is not None and str(getattr(state, "value", state)).lower() != "success":
        return None  # failed, deferred, rescheduled... : no return value was pushed
    try:
        return XCom.get_value(ti_key=ti_key, key=RETURN_VALUE_KEY)
    except Exception:  # not readable from here
        return None


def run_identity(operator: Any, ti_key: Any) -> tuple[str, str] | None:
    """``(pipeline_id, run_id)`` of the run a task worked on, or None when it is not known."""
    returned = _returned_value(operator, ti_key)
    run_id: Any = None
    pipeline_id: Any = None
    if isinstance(returned, Mapping):
        run_id = returned.get("run_id")
        pipeline_id = returned.get("pipeline_id")
        nested = returned.get("pipeline")
        if pipeline_id is None and isinstance(nested, Mapping):
            pipeline_id = nested.get("pipeline_id")
    elif isinstance(returned, str):
        run_id = returned
    declared = getattr(operator, "pipeline_id", None)
    if isinstance(declared, str) and declared and "{{" not in declared:
        pipeline_id = declared
    if not (isinstance(run_id, str) and run_id and isinstance(pipeline_id, str) and pipeline_id):
        return None
    return pipeline_id, run_id


class RegistryRunLink(BaseOperatorLink):
    """The run's page in the Pipeline Registry UI (inside Airflow's UI; a path, no host)."""

    name = "Registry run"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        identity = run_identity(operator, ti_key)
        return run_page_path(*identity) if identity else ""


class SparkUILink(BaseOperatorLink):
    """The Spark UI of the run's application, when the run recorded one (``spark_ui_url``)."""

    name = "Spark UI"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        identity = run_identity(operator, ti_key)
        if identity is None:
            return ""
        pipeline_id, run_id = identity
        try:
            hook = getattr(operator, "hook", None)
            if hook is None or not hasattr(hook, "runs"):
                from .hooks.pipeline_registry import DEFAULT_CONN_ID, PipelineRegistryHook

                hook = PipelineRegistryHook(aws_conn_id=getattr(operator, "aws_conn_id", DEFAULT_CONN_ID))
            found = hook.runs.get_attributes(run_id, pipeline_id, ["spark_ui_url"], consistent=True)
        except Exception as exc:  # a link must never fail the task
            log.info("no Spark UI link for run %s: %s", run_id, type(exc).__name__)
            return ""
        url = (found or {}).get("spark_ui_url")
        return url if isinstance(url, str) and url.lower().startswith(("http://", "https://")) else ""


#: the link classes, in the order the UI shows them
REGISTRY_LINKS: tuple[type[BaseOperatorLink], ...] = (RegistryRunLink, SparkUILink)


def registry_links() -> tuple[BaseOperatorLink, ...]:
    """Instances of the provider's links, for an operator's ``operator_extra_links``."""
    return tuple(link() for link in REGISTRY_LINKS)
