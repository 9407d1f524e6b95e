"""``PipelineRegistryBaseNotifier``: the connection arguments of every registry notifier, declared once.

As the amazon provider's ``notifications/`` (``SnsNotifier``...): a ``BaseNotifier`` (``airflow.sdk``
on Airflow 3, ``airflow.notifications.basenotifier`` on 2.11, through common-compat's
``notifier`` shim) usable as ``on_success_callback`` / ``on_failure_callback`` of a task or a DAG.
It takes the same hook arguments as :class:`~..operators.base.PipelineRegistryBaseOperator`, and any
other registry setting by its hook argument name (``max_attempts=3``...). ``pipeline_id``,
``aws_conn_id``, ``region_name`` and ``table_prefix`` are rendered (Jinja) against the callback's
context before ``notify``. A notifier never raises into Airflow: a fault is logged, with the run
and what failed, never credentials. Importing this module imports neither boto3 nor pyspark.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from airflow.providers.common.compat.notifier import BaseNotifier

from ..hooks.mixins import PipelineRegistryHookMixin, registry_template_fields
from ..hooks.pipeline_registry import DEFAULT_CONN_ID
from ..registry.errors import redact

log = logging.getLogger(__name__)


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


class PipelineRegistryBaseNotifier(PipelineRegistryHookMixin, BaseNotifier):
    """Base of the registry notifiers: connection arguments, and a new hook per notification.

    :param pipeline_id: the pipeline (templated).
    :param aws_conn_id: the ``aws`` connection whose extras carry the registry settings (templated).
    :param region_name: overrides the connection's region (templated).
    :param table_prefix: overrides the connection's table prefix (templated).
    :param user_timezone: IANA zone of the times in the log.
    :param verify: TLS verification for boto3 (bool or CA bundle path); None: the connection's.
    :param botocore_config: botocore ``Config`` options; None: the connection's.

    Any other registry setting (``environment``, ``run_logs_table``, ``max_attempts``... see
    :data:`~airflow_provider_pipeline_registry.registry.settings.SETTINGS`) is accepted by its hook
    argument name; a misspelt one is a ``RegistryValidationError`` naming it, when the DAG is parsed.
    """

    # never ``run_id``: BaseNotifier merges its template fields into the callback's context, whose
    # ``run_id`` is Airflow's dag run id (the one the pipeline run id is derived from)
    template_fields: Sequence[str] = registry_template_fields("pipeline_id")

    def __init__(
        self,
        *,
        pipeline_id: str,
        aws_conn_id: str | None = DEFAULT_CONN_ID,
        region_name: str | None = None,
        table_prefix: str | None = None,
        user_timezone: str | None = None,
        verify: bool | str | None = None,
        botocore_config: dict[str, Any] | None = None,
        **settings: Any,
    ) -> None:
        super().__init__()
        self.pipeline_id = pipeline_id
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.table_prefix = table_prefix
        self.init_hook_settings(user_timezone=user_timezone, verify=verify, botocore_config=botocore_config, **settings)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(pipeline_id={self.pipeline_id!r}, aws_conn_id={self.aws_conn_id!r})"

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        """Render the template fields that hold a template (plain values are left alone).

        A DAG-level callback's context may carry a ``SerializedDAG`` (Airflow 3, e.g. under
        ``dag.test()``), which has no Jinja environment: the fields are then rendered without it
        (a plain sandboxed environment), as they are for a context without a DAG.
        """
        if not any(_is_template(getattr(self, name, None)) for name in self.template_fields):
            return
        dag = context.get("dag")
        if dag is None or not hasattr(dag, "get_template_env"):
            context = {**context, "dag": None}  # Airflow 2.11 reads context["dag"]: present, and None
        super().render_template_fields(context, jinja_env)

    def describe_failure(self, exc: BaseException, context: Any) -> str:
        """The log line of a notification that failed (subclasses name what they could not do)."""
        return f"pipeline-registry notifier for pipeline {self.pipeline_id!r} failed: {type(exc).__name__}"

    def __call__(self, *args: Any) -> None:
        """Render the templated arguments and notify; never raises into Airflow (a fault is logged)."""
        try:
            super().__call__(*args)
        except Exception as exc:  # a callback must never raise into Airflow
            log.error("%s: %s", self.describe_failure(exc, args[0] if args else None), redact(str(exc)))
