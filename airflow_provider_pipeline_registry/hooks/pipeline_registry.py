"""``PipelineRegistryHook``: the registry's read and write APIs over an Airflow ``aws`` connection.

This module is cheap to import: it does not import boto3, botocore or the amazon provider. The
hook class itself subclasses the amazon provider's ``AwsBaseHook`` (which imports boto3), so it
lives in :mod:`._pipeline_registry_hook` and is loaded on first access of
``PipelineRegistryHook`` (PEP 562). Operators, sensors and triggers import it inside methods.

Registry settings are declared once, in :mod:`airflow_provider_pipeline_registry.registry.settings`,
and read in this order: hook constructor argument > connection extra (see :data:`REGISTRY_EXTRAS`)
> ``DYNAMODB_*`` environment variable > default.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..provider_identity import CONN_TYPE  # the connection type the hook is registered under
from ..registry.settings import REGISTRY_EXTRA_SETTINGS, settings_from_extras

#: the default connection: the same ``aws_default`` every amazon hook uses
DEFAULT_CONN_ID = "aws_default"

#: registry settings read from the connection's extras: extra key -> DynamoDBConfig field
#: (derived from :data:`~airflow_provider_pipeline_registry.registry.settings.SETTINGS`)
REGISTRY_EXTRAS: dict[str, str] = {key: setting.name for key, setting in REGISTRY_EXTRA_SETTINGS.items()}


def registry_settings_from_extras(extras: Mapping[str, Any]) -> dict[str, Any]:
    """The registry settings present in a connection's extras, as ``{DynamoDBConfig field: value}``.

    Accepts the plain key (``table_prefix``) and the legacy form-field key
    (``extra__pipeline_registry__table_prefix``); a blank value counts as unset.
    """
    return settings_from_extras(extras)


def __getattr__(name: str) -> Any:
    if name == "PipelineRegistryHook":
        module = importlib.import_module(f"{__package__}._pipeline_registry_hook")
        value = module.PipelineRegistryHook
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:
    from ._pipeline_registry_hook import PipelineRegistryHook

__all__ = [
    "CONN_TYPE",
    "DEFAULT_CONN_ID",
    "REGISTRY_EXTRAS",
    "PipelineRegistryHook",
    "registry_settings_from_extras",
]
