"""The Spark task's ``pre_execute`` in a :func:`~.task_group.PipelineRunTaskGroup`: its job, ready to run.

In the Spark task's own process, after Airflow rendered its template fields, :class:`PrepareSparkTask`

1. fills ``conf``, ``application_args`` and ``env_vars`` from the load task's XCom (a dict and a
   list, whatever the DAG's ``render_template_as_native_obj``): the config, masked, plus the run
   logger's environment and this task's own identity (try number, task id, the attempt the start
   task opened), then the environment the DAG gave the task;
2. gives the masked values their real ones (``resolve_pipeline_secrets``);
3. renders each ``spark_args`` item, ``spark_conf`` value and ``parameters`` string as a Jinja
   template with the task's context (``{{ ds }}``, ``{{ data_interval_start }}``, ``params``,
   macros), and hands the rendered ``parameters`` to the driver as JSON in
   ``PIPELINE_REGISTRY_PARAMETERS`` (``registry.run_env.job_parameters()`` reads them);
4. records what it rendered on the run (``arguments``: ``spark_args``, ``spark_conf``,
   ``parameters``), shown the way the registry shows secrets, in a heartbeat fenced on the attempt.

The task's rendered fields (the UI's "Rendered Template") keep the masked, unrendered values; the
task log and the run log show the rendered ones, secrets masked. Importing this module imports
neither boto3 nor Airflow.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from ..hooks.mixins import PipelineRegistryHookMixin
from ..hooks.pipeline_registry import DEFAULT_CONN_ID
from ..registry.json_values import to_json_value
from ..registry.redaction import redact_args, redact_mapping, secret_values
from ..registry.run_env import PARAMETERS_ENV
from ..utils.run_context import spark_task_env
from ..xcom_keys import XCOM_APPLICATION_ARGS, XCOM_ATTEMPT_ID, XCOM_RUN_ID, XCOM_RUN_LOGGER_ENV, XCOM_SPARK_CONF

log = logging.getLogger(__name__)

_CONF_ATTRS = ("conf", "_conf")
_ARGS_ATTRS = ("application_args", "_application_args")
_ENV_ATTRS = ("env_vars", "_env_vars")


def _attr(task: Any, names: tuple[str, ...]) -> str | None:
    return next((n for n in names if hasattr(task, n)), None)


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


class PrepareSparkTask(PipelineRegistryHookMixin):
    """A picklable ``pre_execute`` for the Spark task of a pipeline run (see the module docstring).

    :param pipeline_id: the pipeline.
    :param load_task_id: the full id of the load task (``<group>.load_config``).
    :param start_task_id: the full id of the start task (``<group>.start_run``).
    :param fill: fill ``conf``/``application_args``/``env_vars`` from XCom (False: a custom Spark
        task that already has them).
    :param render: render the job's arguments with the task's context.
    :param record: record the rendered arguments on the run.
    :param pass_parameters: hand the rendered parameters to the driver (``PIPELINE_REGISTRY_PARAMETERS``).
    :param aws_conn_id: the registry connection; any other hook argument (``region_name``,
        ``table_prefix``...) or registry setting (``max_attempts``...) by its hook argument name.
    """

    def __init__(
        self,
        *,
        pipeline_id: str,
        load_task_id: str,
        start_task_id: str,
        fill: bool = True,
        render: bool = True,
        record: bool = True,
        pass_parameters: bool = True,
        aws_conn_id: str | None = DEFAULT_CONN_ID,
        **hook_args: Any,
    ) -> None:
        self.pipeline_id = pipeline_id
        self.load_task_id = load_task_id
        self.start_task_id = start_task_id
        self.fill = fill
        self.render = render
        self.record = record
        self.pass_parameters = pass_parameters
        #: the connection arguments and registry settings, for resolve_pipeline_secrets too
        self.hook_args = {"aws_conn_id": aws_conn_id, **hook_args}
        self.init_hook_args(aws_conn_id=aws_conn_id, **hook_args)
        self.__name__ = "prepare_spark_task"

    def __repr__(self) -> str:
        return f"{self.__name__}(pipeline_id={self.pipeline_id!r}, aws_conn_id={self.aws_conn_id!r})"

    # -- the steps -------------------------------------------------------------------------------
    def __call__(self, context: Mapping[str, Any]) -> None:
        from ..operators.secrets import resolve_pipeline_secrets
        from ..utils.compat import AirflowException, mask_secret, register_sensitive_var_conn_names

        ti = context["ti"]
        task = getattr(ti, "task", None) or context["task"]
        if self.fill:
            self._fill(task, ti, context)
        resolve_pipeline_secrets(pipeline_id=self.pipeline_id, **self.hook_args)(context)

        pipeline = self.build_hook().registry.pipelines.find_entity(self.pipeline_id, consistent=True)
        if pipeline is None:
            raise AirflowException(f"pipeline {self.pipeline_id!r} not found")
        register_sensitive_var_conn_names()
        parameters: dict[str, Any] = to_json_value(dict(pipeline.parameters))
        for secret in secret_values(None, parameters):
            mask_secret(secret)

        conf_attr, args_attr, env_attr = _attr(task, _CONF_ATTRS), _attr(task, _ARGS_ATTRS), _attr(task, _ENV_ATTRS)
        conf = getattr(task, conf_attr) if conf_attr else None
        args = getattr(task, args_attr) if args_attr else None
        if self.render:
            if isinstance(conf, dict):
                conf = {k: self._render(task, v, context, f"spark_conf[{k!r}]") for k, v in conf.items()}
                setattr(task, conf_attr or "conf", conf)
            if isinstance(args, list):
                args = [self._render(task, v, context, f"spark_args[{i}]") for i, v in enumerate(args)]
                setattr(task, args_attr or "application_args", args)
            parameters = self._render_tree(task, parameters, context, "parameters")
        for secret in secret_values(None, {"conf": conf or {}, "args": args or [], "parameters": parameters}):
            mask_secret(secret)  # a rendered value may carry a secret in a new shape
        if self.pass_parameters and env_attr:
            env = dict(getattr(task, env_attr) or {})
            env[PARAMETERS_ENV] = json.dumps(parameters, sort_keys=True)
            setattr(task, env_attr, env)

        shown = {
            "spark_args": redact_args(list(args or [])),
            "spark_conf": redact_mapping(dict(conf or {})),
            "parameters": redact_mapping(parameters),
        }
        log.info("Job arguments of pipeline %r as rendered for this run: %s", self.pipeline_id, json.dumps(shown))
        if self.record:
            self._record(ti, context, shown)

    def _fill(self, task: Any, ti: Any, context: Mapping[str, Any]) -> None:
        conf = ti.xcom_pull(task_ids=self.load_task_id, key=XCOM_SPARK_CONF)
        args = ti.xcom_pull(task_ids=self.load_task_id, key=XCOM_APPLICATION_ARGS)
        env = ti.xcom_pull(task_ids=self.load_task_id, key=XCOM_RUN_LOGGER_ENV)
        conf_attr, args_attr, env_attr = _attr(task, _CONF_ATTRS), _attr(task, _ARGS_ATTRS), _attr(task, _ENV_ATTRS)
        if conf_attr and isinstance(conf, dict):
            given = getattr(task, conf_attr)
            setattr(task, conf_attr, {**conf, **(given if isinstance(given, dict) else {})})
        if args_attr and isinstance(args, list):
            setattr(task, args_attr, [*args, *(getattr(task, args_attr) or [])])
        if env_attr:
            given_env = getattr(task, env_attr)
            setattr(
                task,
                env_attr,
                {
                    **(env if isinstance(env, dict) else {}),
                    **spark_task_env(context, start_task_id=self.start_task_id),
                    **(given_env if isinstance(given_env, dict) else {}),
                },
            )

    def _render(self, task: Any, value: Any, context: Mapping[str, Any], where: str) -> Any:
        if not _is_template(value):
            return value
        from ..utils.compat import AirflowException

        try:
            rendered = task.render_template(value, context)
        except Exception as exc:
            raise AirflowException(
                f"pipeline {self.pipeline_id!r}: {where} is not a valid template: {type(exc).__name__}: {exc}"
            ) from None
        return rendered if isinstance(rendered, str) else json.dumps(to_json_value(rendered))

    def _render_tree(self, task: Any, value: Any, context: Mapping[str, Any], where: str) -> Any:
        if isinstance(value, dict):
            return {k: self._render_tree(task, v, context, f"{where}[{k!r}]") for k, v in value.items()}
        if isinstance(value, list):
            return [self._render_tree(task, v, context, f"{where}[{i}]") for i, v in enumerate(value)]
        if not _is_template(value):
            return value
        from ..utils.compat import AirflowException

        try:
            return to_json_value(task.render_template(value, context))
        except Exception as exc:
            raise AirflowException(
                f"pipeline {self.pipeline_id!r}: {where} is not a valid template: {type(exc).__name__}: {exc}"
            ) from None

    def _record(self, ti: Any, context: Mapping[str, Any], shown: Mapping[str, Any]) -> None:
        run_id = ti.xcom_pull(task_ids=self.load_task_id, key=XCOM_RUN_ID)
        attempt_id = ti.xcom_pull(task_ids=self.start_task_id, key=XCOM_ATTEMPT_ID)
        if not run_id or not attempt_id:
            log.warning("No run id or attempt id in XCom: the rendered arguments are not recorded on the run")
            return
        from ..registry.errors import RegistryError

        try:
            self.build_hook().registry.runs_write.heartbeat(
                str(run_id), self.pipeline_id, attempt_id=str(attempt_id), arguments=shown
            )
        except RegistryError as exc:  # the run ended or moved on: the job's own start will say so
            log.warning("Rendered arguments not recorded on run %s: %s", run_id, exc)
