"""The hook arguments shared by the operators, the sensor and the notifiers (callbacks).

As the amazon provider's ``AwsBaseHookMixin``: the connection arguments are stored once, the same
way, and the hook is built from them on first use. The arguments themselves are declared once per
kind of task, by ``operators/base.py``, ``sensors/base.py`` and ``notifications/base.py`` (as
amazon's ``AwsBaseOperator`` and ``AwsBaseSensor``); a concrete operator declares only its own.
Cheap to import (no boto3): the hook class is imported only when the hook is built.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..registry.errors import RegistryValidationError
from ..registry.settings import SETTINGS_BY_HOOK_ARG

if TYPE_CHECKING:
    from ._pipeline_registry_hook import PipelineRegistryHook

#: the hook arguments every registry operator and sensor renders as Jinja templates
HOOK_TEMPLATE_FIELDS: tuple[str, ...] = ("aws_conn_id", "region_name", "table_prefix")

#: the hook arguments stored as attributes of their own (the other settings go to ``registry_settings``)
_OWN_ARGS_ORDER = ("region_name", "table_prefix", "user_timezone")
_OWN_ARGS = frozenset(_OWN_ARGS_ORDER)


def registry_template_fields(*fields: str) -> tuple[str, ...]:
    """``fields`` followed by :data:`HOOK_TEMPLATE_FIELDS` (each once, in order)."""
    return tuple(dict.fromkeys((*fields, *HOOK_TEMPLATE_FIELDS)))


def pop_registry_settings(kwargs: MutableMapping[str, Any]) -> dict[str, Any]:
    """Remove the declared registry-setting arguments (``max_attempts``, ``run_logs_table``...) from
    ``kwargs`` and return them; what is left goes to ``BaseOperator``."""
    return {name: kwargs.pop(name) for name in list(kwargs) if name in SETTINGS_BY_HOOK_ARG and name not in _OWN_ARGS}


#: the connection arguments every registry operator, sensor and notifier takes (the hook's own names);
#: any other registry setting is taken by its hook argument name too (``max_attempts=3``...)
HOOK_ARGS: tuple[str, ...] = ("aws_conn_id", *_OWN_ARGS_ORDER, "verify", "botocore_config")


def check_registry_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``settings`` (by hook argument name) as a dict; a name that is not a registry setting, or one
    that has an argument of its own (``region_name``...), is a :class:`RegistryValidationError` naming it."""
    for name in settings:
        if name in _OWN_ARGS:
            raise RegistryValidationError(f"{name!r} is an argument of its own, given twice", field=name)
        if name not in SETTINGS_BY_HOOK_ARG:
            known = ", ".join(sorted(set(SETTINGS_BY_HOOK_ARG) - _OWN_ARGS))
            raise RegistryValidationError(f"{name!r} is not a registry setting (known: {known})", field=name)
    return {name: value for name, value in settings.items() if value is not None}


class PipelineRegistryHookMixin:
    """Hook arguments and the cached ``hook`` of a registry operator, sensor or notifier.

    The arguments, declared by :class:`~..operators.base.PipelineRegistryBaseOperator`,
    :class:`~..sensors.base.PipelineRegistryBaseSensor` and
    :class:`~..notifications.base.PipelineRegistryBaseNotifier` (one spelling, the hook's own):

    :ivar aws_conn_id: the ``aws`` (or ``pipeline_registry``) connection; registry settings in its extras.
    :ivar region_name: overrides the connection's region.
    :ivar table_prefix: overrides the connection's table prefix.
    :ivar user_timezone: IANA zone of the times in the task log.
    :ivar verify: TLS verification for boto3 (bool or CA bundle path); None: the connection's.
    :ivar botocore_config: botocore ``Config`` options; None: the connection's.
    :ivar registry_settings: any other declared registry setting given, by hook argument name
        (``max_attempts=3``, ``run_logs_table="runs"``...: keyword arguments, as the hook takes them).
    """

    aws_conn_id: str | None
    region_name: str | None
    table_prefix: str | None
    user_timezone: str | None
    verify: bool | str | None
    botocore_config: dict[str, Any] | None
    registry_settings: dict[str, Any]

    def init_hook_args(
        self,
        *,
        aws_conn_id: str | None,
        region_name: str | None = None,
        table_prefix: str | None = None,
        user_timezone: str | None = None,
        verify: bool | str | None = None,
        botocore_config: Mapping[str, Any] | None = None,
        **settings: Any,
    ) -> None:
        """Store every hook argument, for a holder that is not a task (``resolve_pipeline_secrets``).

        Operators, sensors and notifiers declare the arguments in their base class's ``__init__``
        and assign the templated ones there (:data:`HOOK_TEMPLATE_FIELDS`), as Airflow's operator
        rule requires; they call :meth:`init_hook_settings` for the rest.
        """
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.table_prefix = table_prefix
        self.init_hook_settings(user_timezone=user_timezone, verify=verify, botocore_config=botocore_config, **settings)

    def init_hook_settings(
        self,
        *,
        user_timezone: str | None = None,
        verify: bool | str | None = None,
        botocore_config: Mapping[str, Any] | None = None,
        **settings: Any,
    ) -> None:
        """Store the hook arguments that are not template fields; unknown settings are refused.

        The templated ones (:data:`HOOK_TEMPLATE_FIELDS`) are assigned by the base classes' own
        ``__init__``, as Airflow's operator rule requires (never through this helper).
        """
        self.user_timezone = user_timezone
        self.verify = verify
        self.botocore_config = dict(botocore_config) if botocore_config is not None else None
        self.registry_settings = check_registry_settings(settings)

    @property
    def hook_parameters(self) -> dict[str, Any]:
        """The keyword arguments of :class:`PipelineRegistryHook` (unset ones left out)."""
        params: dict[str, Any] = {
            "aws_conn_id": self.aws_conn_id,
            "region_name": self.region_name,
            "table_prefix": self.table_prefix,
            "user_timezone": self.user_timezone,
            **self.registry_settings,
        }
        if self.verify is not None:
            params["verify"] = self.verify
        if self.botocore_config is not None:
            params["config"] = self.botocore_config
        return {key: value for key, value in params.items() if value is not None or key == "aws_conn_id"}

    def build_hook(self) -> PipelineRegistryHook:
        """A new hook from :attr:`hook_parameters` (boto3 is imported only now)."""
        from .pipeline_registry import PipelineRegistryHook

        return PipelineRegistryHook(**self.hook_parameters)

    @cached_property
    def hook(self) -> PipelineRegistryHook:
        """The registry hook, built on first use (after templates are rendered)."""
        return self.build_hook()
