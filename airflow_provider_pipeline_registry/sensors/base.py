"""``PipelineRegistryBaseSensor``: the connection arguments of every registry sensor, declared once.

As the amazon provider's ``AwsBaseSensor`` over ``AwsBaseHookMixin``, and the same arguments as
:class:`~..operators.base.PipelineRegistryBaseOperator`: this ``__init__`` takes and assigns the hook
arguments (the templated ones as given, Airflow's operator rule), and any other registry setting
by its hook argument name (``max_attempts=3``, ``run_logs_table="runs"``...); a concrete sensor
declares only its own arguments. Importing this module imports neither boto3 nor pyspark.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..hooks.mixins import PipelineRegistryHookMixin, pop_registry_settings, registry_template_fields
from ..hooks.pipeline_registry import DEFAULT_CONN_ID
from ..links import registry_links
from ..utils.compat import BaseSensorOperator


class PipelineRegistryBaseSensor(PipelineRegistryHookMixin, BaseSensorOperator):
    """Base of the registry sensors: connection arguments and the hook, built on first use.

    :param pipeline_id: the pipeline (templated).
    :param aws_conn_id: the ``aws`` connection whose extras carry the registry settings (templated).
    :param region_name: overrides the connection's region (templated).
    :param table_prefix: overrides the connection's table prefix (templated).
    :param user_timezone: IANA zone of the times in the task log.
    :param verify: TLS verification for boto3 (bool or CA bundle path); None: the connection's.
    :param botocore_config: botocore ``Config`` options; None: the connection's.

    Any other registry setting (``environment``, ``run_logs_table``, ``max_attempts``... see
    :data:`~airflow_provider_pipeline_registry.registry.settings.SETTINGS`) is accepted by its
    hook argument name and overrides the connection's.
    """

    template_fields: Sequence[str] = registry_template_fields("pipeline_id")
    operator_extra_links = registry_links()

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
        # template fields: assigned as given, here (Airflow's operator rule); rendered before poke
        self.pipeline_id = pipeline_id
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.table_prefix = table_prefix
        self.init_hook_settings(user_timezone=user_timezone, verify=verify, botocore_config=botocore_config, **settings)
