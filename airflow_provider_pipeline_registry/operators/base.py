"""``PipelineRegistryBaseOperator``: the connection arguments of every registry operator, declared once.

As the amazon provider's ``AwsBaseOperator`` over ``AwsBaseHookMixin``: this ``__init__`` takes
and assigns the hook arguments (the templated ones as given, Airflow's operator rule), and any
other registry setting by its hook argument name (``max_attempts=3``...); a concrete operator
declares only its own arguments and passes ``**kwargs`` on. The hook is built on first use, after
the templates are rendered. Importing this module imports neither boto3 nor pyspark.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..hooks.mixins import PipelineRegistryHookMixin, pop_registry_settings, registry_template_fields
from ..hooks.pipeline_registry import DEFAULT_CONN_ID
from ..links import registry_links
from ..registry.timezones import format_for_display
from ..utils.compat import BaseOperator
from ..utils.run_context import derive_context_run_id, task_group_id_of

if TYPE_CHECKING:
    from datetime import tzinfo

    from ..utils.compat import Context


class PipelineRegistryBaseOperator(PipelineRegistryHookMixin, BaseOperator):
    """Base of the registry operators: connection arguments and the hook, built on first use.

    :param pipeline_id: the pipeline (templated).
    :param aws_conn_id: the ``aws`` connection whose extras carry the registry settings (templated).
    :param region_name: overrides the connection's region (templated).
    :param table_prefix: overrides the connection's table prefix, e.g. ``dev_`` (templated).
    :param user_timezone: IANA zone for the task log (default: connection extra ``user_timezone``,
        then ``DYNAMODB_USER_TIMEZONE``, then UTC). Storage is always UTC.
    :param verify: TLS verification for boto3 (bool or CA bundle path); None: the connection's.
    :param botocore_config: botocore ``Config`` options; None: the connection's.

    Any other registry setting (``environment``, ``run_logs_table``, ``max_attempts``... see
    :data:`~airflow_provider_pipeline_registry.registry.settings.SETTINGS`) is accepted by its
    hook argument name and overrides the connection's; a misspelt one is refused by Airflow as an
    unknown argument.
    """

    template_fields: Sequence[str] = registry_template_fields("pipeline_id")
    operator_extra_links = registry_links()

    ui_color = "#f0e4ff"

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
        **kwargs: Any,
    ) -> None:
        settings = pop_registry_settings(kwargs)
        super().__init__(**kwargs)
        # template fields: assigned as given, here (Airflow's operator rule); rendered before execute
        self.pipeline_id = pipeline_id
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.table_prefix = table_prefix
        self.init_hook_settings(user_timezone=user_timezone, verify=verify, botocore_config=botocore_config, **settings)

    @property
    def display_timezone(self) -> tzinfo:
        """The timezone log lines are shown in."""
        return self.hook.user_timezone

    def show(self, value: datetime | None) -> str:
        """``value`` in the user's timezone with UTC beside it, for the task log."""
        return format_for_display(value, self.display_timezone)

    def resolve_run_id(self, context: Context, explicit: str | None) -> str:
        """``explicit`` if given, else the run id derived from the dag run and this task's group."""
        if explicit:
            return explicit
        return derive_context_run_id(context, task_group_id=task_group_id_of(self))
