"""Kept importable: the callbacks' old names, over their new homes.

* ``record_run_success`` / ``record_run_failure`` return the notifiers
  :class:`~.notifications.PipelineRunSuccessNotifier` / :class:`~.notifications.PipelineRunFailureNotifier`
  (``notifications/``), which record the end by the same policy as ``EndPipelineRunOperator``;
* ``resolve_pipeline_secrets`` lives in ``operators/secrets.py``.

Registry settings are keyword arguments named as the hook's (``max_attempts=3``), as everywhere;
the old ``registry_settings={...}`` of these three names still works, with a deprecation warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypedDict

from .hooks.mixins import HOOK_ARGS
from .notifications.pipeline_registry import (
    PipelineRunEndNotifier,
    PipelineRunFailureNotifier,
    PipelineRunSuccessNotifier,
    RunIdSource,
)
from .operators.secrets import ResolvePipelineSecrets
from .operators.secrets import resolve_pipeline_secrets as _resolve_pipeline_secrets
from .registry.errors import RegistryValidationError

#: what the old factories were typed to return: ``callback(context)``
Callback = Callable[[Mapping[str, Any]], None]


class CallbackOptions(TypedDict, total=False):
    """Optional arguments of :func:`record_run_success` and :func:`record_run_failure` (any other
    registry setting is taken by its hook argument name too, e.g. ``max_attempts=3``)."""

    aws_conn_id: str | None
    run_id: RunIdSource
    task_group_id: str | None
    region_name: str | None
    table_prefix: str | None
    user_timezone: str | None
    verify: bool | str | None
    botocore_config: dict[str, Any] | None
    #: deprecated: pass each setting as a keyword argument
    registry_settings: dict[str, Any] | None


#: the old name of the options of :func:`resolve_pipeline_secrets`
SecretsOptions = CallbackOptions


def _settings_as_keywords(options: dict[str, Any], caller: str) -> dict[str, Any]:
    """``options`` with a deprecated ``registry_settings={...}`` spread into keyword arguments."""
    settings = options.pop("registry_settings", None)
    if settings is None:
        return options
    from airflow.exceptions import AirflowProviderDeprecationWarning

    warnings.warn(
        f"{caller}(registry_settings={{...}}) is deprecated: pass each registry setting as a keyword argument "
        "named as the hook's (e.g. max_attempts=3), as the operators and the sensor take them",
        AirflowProviderDeprecationWarning,
        stacklevel=3,
    )
    for name, value in dict(settings).items():
        if name in HOOK_ARGS:
            raise RegistryValidationError(f"pass {name!r} as its own argument, not in registry_settings", field=name)
        if name in options:
            raise RegistryValidationError(f"{name!r} given twice: as an argument and in registry_settings", field=name)
        options[name] = value
    return options


def record_run_success(*, pipeline_id: str, **options: Any) -> PipelineRunSuccessNotifier:
    """A callback recording SUCCESS for the pipeline run of the current dag run
    (:class:`~.notifications.PipelineRunSuccessNotifier`)."""
    return PipelineRunSuccessNotifier(pipeline_id=pipeline_id, **_settings_as_keywords(options, "record_run_success"))


def record_run_failure(*, pipeline_id: str, **options: Any) -> PipelineRunFailureNotifier:
    """A callback recording FAILED, with the exception type and message, for the current run
    (:class:`~.notifications.PipelineRunFailureNotifier`)."""
    return PipelineRunFailureNotifier(pipeline_id=pipeline_id, **_settings_as_keywords(options, "record_run_failure"))


def resolve_pipeline_secrets(*, pipeline_id: str, **options: Any) -> ResolvePipelineSecrets:
    """The ``pre_execute`` hook of ``operators/secrets.py`` (see there)."""
    return _resolve_pipeline_secrets(
        pipeline_id=pipeline_id, **_settings_as_keywords(options, "resolve_pipeline_secrets")
    )


__all__ = [
    "Callback",
    "CallbackOptions",
    "PipelineRunEndNotifier",
    "PipelineRunFailureNotifier",
    "PipelineRunSuccessNotifier",
    "ResolvePipelineSecrets",
    "RunIdSource",
    "SecretsOptions",
    "record_run_failure",
    "record_run_success",
    "resolve_pipeline_secrets",
]
