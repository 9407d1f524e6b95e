"""Extra links of the provider's operators and sensor, built from what each task persisted at
execute time (:mod:`.base`, as the amazon provider's ``links/``): "Registry run" and "Spark UI"
(:mod:`.pipeline_registry`)."""

from .base import RegistryBaseLink, persisted_values
from .pipeline_registry import REGISTRY_LINKS, RegistryRunLink, SparkUILink, persist_run_links, registry_links

__all__ = [
    "REGISTRY_LINKS",
    "RegistryBaseLink",
    "RegistryRunLink",
    "SparkUILink",
    "persist_run_links",
    "persisted_values",
    "registry_links",
]
