"""``resolve_pipeline_secrets(pipeline_id=...)``: a ``pre_execute`` hook for the Spark task.

It puts back the real values of the secrets ``LoadPipelineConfigOperator`` pushed masked (``***``),
in the Spark task's own process. (Importable from ``callbacks.py`` too, its former home.)
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ..hooks.mixins import PipelineRegistryHookMixin
from ..hooks.pipeline_registry import DEFAULT_CONN_ID

log = logging.getLogger(__name__)


#: the attributes a Spark operator keeps its rendered fields in (``SparkSubmitOperator``; ``_``: older providers)
_CONF_ATTRS = ("conf", "_conf")
_ARGS_ATTRS = ("application_args", "_application_args")
_APPLICATION_ATTRS = ("application", "_application")


def _attr(task: Any, names: tuple[str, ...]) -> str | None:
    return next((n for n in names if hasattr(task, n)), None)


class ResolvePipelineSecrets(PipelineRegistryHookMixin):
    """A picklable ``pre_execute`` hook: the task's masked conf, arguments and application get the
    real values from the registry, in the task's own process, after its fields were rendered (and
    recorded, masked, as rendered fields), each real value handed to Airflow's ``mask_secret``."""

    def __init__(self, *, pipeline_id: str, aws_conn_id: str | None = DEFAULT_CONN_ID, **hook_args: Any) -> None:
        self.pipeline_id = pipeline_id
        self.init_hook_args(aws_conn_id=aws_conn_id, **hook_args)
        self.__name__ = "resolve_pipeline_secrets"

    def __repr__(self) -> str:
        return f"{self.__name__}(pipeline_id={self.pipeline_id!r}, aws_conn_id={self.aws_conn_id!r})"

    def __call__(self, context: Mapping[str, Any]) -> None:
        from ..registry.redaction import looks_redacted, redact_args, redact_text, redact_value, secret_values
        from ..utils.compat import AirflowException, mask_secret, register_sensitive_var_conn_names

        ti = context.get("ti")
        task = getattr(ti, "task", None) or context["task"]
        pipeline = self.build_hook().registry.pipelines.find_entity(self.pipeline_id, consistent=True)
        if pipeline is None:
            raise AirflowException(f"resolve_pipeline_secrets: pipeline {self.pipeline_id!r} not found")
        register_sensitive_var_conn_names()
        stored_conf = dict(pipeline.spark_conf)
        stored_args = list(pipeline.spark_args)
        stored_application = pipeline.spark_application or ""
        for secret in secret_values(None, {"conf": stored_conf, "args": stored_args, "app": stored_application}):
            mask_secret(secret)
        unresolved: list[str] = []
        resolved = 0

        conf_attr = _attr(task, _CONF_ATTRS)
        conf = getattr(task, conf_attr) if conf_attr else None
        if isinstance(conf, dict):
            for key, value in list(conf.items()):
                real = stored_conf.get(key)
                if real is not None and value != real and value == redact_value(key, real):
                    conf[key] = real
                    resolved += 1
                elif looks_redacted(value):
                    unresolved.append(f"conf[{key!r}]")

        args_attr = _attr(task, _ARGS_ATTRS)
        args = getattr(task, args_attr) if args_attr else None
        if isinstance(args, list):
            shown = redact_args(stored_args)
            for index, value in enumerate(args):
                if not isinstance(value, str) or value == "":
                    continue
                real_arg = _real_arg(index, value, args, stored_args, shown)
                if real_arg is not None:
                    args[index] = real_arg
                    resolved += 1
                elif looks_redacted(value):
                    unresolved.append(f"application_args[{index}]")

        app_attr = _attr(task, _APPLICATION_ATTRS)
        application = getattr(task, app_attr) if app_attr else None
        if isinstance(application, str) and application and application != stored_application:
            if application == redact_text(stored_application):
                setattr(task, app_attr or "application", stored_application)
                resolved += 1
            elif looks_redacted(application):
                unresolved.append("application")

        if unresolved:
            raise AirflowException(
                f"resolve_pipeline_secrets: {', '.join(unresolved)} of task {getattr(task, 'task_id', '?')} "
                f"hold(s) a masked value (***) that pipeline {self.pipeline_id!r} (version {pipeline.version}) "
                "no longer has: clear the load task to run with the current config"
            )
        log.info(
            "resolve_pipeline_secrets: %d masked value(s) of pipeline %r (version %d) given their real value "
            "for task %s (masked in its log)",
            resolved,
            self.pipeline_id,
            pipeline.version,
            getattr(task, "task_id", "?"),
        )


def _real_arg(index: int, value: str, given: list[Any], stored: list[str], shown: list[Any]) -> str | None:
    """The stored argument a masked ``value`` stands for: the same position when the lists line up,
    else the one stored argument that masks to it; None when ``value`` is not masked."""
    if len(given) == len(stored) and shown[index] == value and stored[index] != value:
        return stored[index]
    candidates = {s for s, m in zip(stored, shown, strict=True) if m == value and s != value}
    return candidates.pop() if len(candidates) == 1 else None


def resolve_pipeline_secrets(*, pipeline_id: str, **hook_args: Any) -> ResolvePipelineSecrets:
    """A ``pre_execute`` hook for the Spark task fed by ``LoadPipelineConfigOperator``'s XCom::

        SparkSubmitOperator(..., conf=..., application_args=...,
                            pre_execute=resolve_pipeline_secrets(pipeline_id="sales_daily"))

    XCom carries the config masked (``***``); this hook reads the pipeline again (same connection
    arguments as the operators) and, in the Spark task's own process, replaces each masked value
    of ``conf``, ``application_args`` and ``application`` with the stored one, after Airflow has
    recorded the rendered fields (masked) and after handing every real value to Airflow's
    ``mask_secret`` (so the spark-submit command line Airflow logs shows ``***``). A masked value
    the current config no longer has fails the task, naming it. The connection arguments and
    registry settings are the operators' (``aws_conn_id``, ``table_prefix``, ``max_attempts``...).
    """
    return ResolvePipelineSecrets(pipeline_id=pipeline_id, **hook_args)
