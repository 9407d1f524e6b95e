"""The XCom keys the operators push and the default task ids the Spark task pulls them from.

The one home of these names: the operators push under them, and :mod:`.run_context` builds its
Jinja templates (``ti.xcom_pull(task_ids=..., key=...)``) from them. Imports nothing.
"""

from __future__ import annotations

#: XCom keys pushed by LoadPipelineConfigOperator (besides the return value)
XCOM_SPARK_CONF = "spark_conf"
XCOM_APPLICATION = "application"
XCOM_APPLICATION_ARGS = "application_args"
XCOM_RUN_LOGGER_ENV = "run_logger_env"
XCOM_RUN_ID = "run_id"
#: ``{table_id: committed watermark or None}`` of the pipeline's active source tables, read at load
XCOM_WATERMARKS = "watermarks"
#: XCom key pushed by StartPipelineRunOperator: the attempt it opened (for the Spark task's env;
#: the run logger's ``opened_attempt_id``; the key keeps its name: a wire contract)
XCOM_ATTEMPT_ID = "attempt_id"
#: XCom key every registry task pushes at execute time for its extra links (:mod:`.links`)
XCOM_RUN_LINK = "pipeline_registry_run_link"

#: the task id the helpers of :mod:`.run_context` assume for LoadPipelineConfigOperator
DEFAULT_LOAD_TASK_ID = "load_config"
#: the task id the helpers of :mod:`.run_context` assume for StartPipelineRunOperator
DEFAULT_START_TASK_ID = "start_run"

__all__ = [
    "DEFAULT_LOAD_TASK_ID",
    "DEFAULT_START_TASK_ID",
    "XCOM_APPLICATION",
    "XCOM_APPLICATION_ARGS",
    "XCOM_ATTEMPT_ID",
    "XCOM_RUN_ID",
    "XCOM_RUN_LINK",
    "XCOM_RUN_LOGGER_ENV",
    "XCOM_SPARK_CONF",
    "XCOM_WATERMARKS",
]
