"""Provider registration: the metadata Airflow validates, and the real ``airflow providers`` commands."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.resources
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from packaging.utils import canonicalize_name
from settings_samples import NON_DEFAULTS

from airflow_provider_pipeline_registry.get_provider_info import get_provider_info
from airflow_provider_pipeline_registry.registry.settings import SETTINGS

pytestmark = pytest.mark.airflow

DIST_NAME = "airflow-provider-pipeline-registry"
HOOK_CLASS = "airflow_provider_pipeline_registry.hooks.pipeline_registry.PipelineRegistryHook"
AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def _airflow_schema(name: str) -> dict[str, Any]:
    text = importlib.resources.files("airflow").joinpath(name).read_text()
    return json.loads(text)  # type: ignore[no-any-return]


def _run_airflow(*args: str) -> Any:
    """Run the real ``airflow`` CLI with JSON output (inherits the test AIRFLOW_HOME)."""
    env = os.environ.copy()
    env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)  # it prints a log line to stdout
    result = subprocess.run(
        [AIRFLOW, *args, "--output", "json"], capture_output=True, text=True, timeout=300, env=env, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # the JSON document is the last stdout line that starts a list (log lines may precede it)
    (document,) = [line for line in result.stdout.splitlines() if line.startswith("[")][-1:]
    return json.loads(document)


def test_provider_info_validates_against_airflows_schema() -> None:
    jsonschema.validate(get_provider_info(), _airflow_schema("provider_info.schema.json"))


def test_connection_type_follows_the_provider_yaml_schema() -> None:
    # provider_info.schema.json does not describe conn-fields; provider.yaml.schema.json does (strictly)
    schema = _airflow_schema("provider.yaml.schema.json")["properties"]["connection-types"]
    jsonschema.validate(get_provider_info()["connection-types"], schema)


def test_the_connection_form_offers_every_declared_setting() -> None:
    from airflow_provider_pipeline_registry.hooks.pipeline_registry import REGISTRY_EXTRAS

    (conn_type,) = get_provider_info()["connection-types"]
    form = conn_type["conn-fields"]
    # one field per declared setting, named by its extra: the registry's own plus the aws endpoint/region
    assert list(form) == [s.extra for s in SETTINGS]
    assert set(form) == set(REGISTRY_EXTRAS) | {"endpoint_url", "region_name"}
    assert {"run_log_retention_days", "base_backoff_seconds", "max_backoff_seconds", "retry_mode"} <= set(form)
    for setting in SETTINGS:
        field = form[setting.extra]
        assert field["label"] == setting.label
        assert field["description"].startswith(setting.description)
        # the form accepts the setting's valid values and a blank field, and refuses what the config refuses
        jsonschema.validate(NON_DEFAULTS[setting.name], field["schema"])
        jsonschema.validate(None, field["schema"])
        if setting.le is not None:
            with pytest.raises(jsonschema.ValidationError):
                jsonschema.validate(setting.le + 1, field["schema"])
        if setting.choices is not None:
            assert field["schema"]["enum"] == [*setting.choices, None]


def test_the_form_states_each_default() -> None:
    (conn_type,) = get_provider_info()["connection-types"]
    form = conn_type["conn-fields"]
    assert form["max_attempts"]["description"].endswith("Default: 6.")
    assert form["table_prefix"]["description"].endswith("Default: empty.")
    assert "Default" not in form["run_log_retention_days"]["description"]  # None: the text says what empty means


def test_package_name_is_the_distributions_canonical_name() -> None:
    dist = importlib.metadata.distribution(DIST_NAME)
    info = get_provider_info()
    assert info["package-name"] == canonicalize_name(dist.metadata["Name"]) == DIST_NAME
    assert info["versions"][0] == dist.version
    (entry_point,) = [ep for ep in dist.entry_points if ep.group == "apache_airflow_provider"]
    assert entry_point.load() is get_provider_info


def test_listed_modules_and_hook_class_import() -> None:
    info = get_provider_info()
    for section in ("hooks", "operators", "sensors", "triggers"):
        for entry in info[section]:
            for module in entry["python-modules"]:
                importlib.import_module(module)
    (conn_type,) = info["connection-types"]
    module_name, _, class_name = conn_type["hook-class-name"].rpartition(".")
    hook_class = getattr(importlib.import_module(module_name), class_name)
    assert hook_class.conn_type == conn_type["connection-type"]
    assert hook_class.hook_name == conn_type["hook-name"]
    assert hook_class.conn_name_attr == "aws_conn_id"


def test_airflow_providers_list_shows_the_provider() -> None:
    providers = {p["package_name"]: p for p in _run_airflow("providers", "list")}
    assert providers[DIST_NAME]["version"] == importlib.metadata.version(DIST_NAME)
    assert "apache-airflow-providers-amazon" in providers


def test_airflow_providers_hooks_shows_the_hook_and_keeps_the_aws_type() -> None:
    hooks = {h["connection_type"]: h for h in _run_airflow("providers", "hooks")}
    ours = hooks["pipeline_registry"]
    assert ours["class"] == HOOK_CLASS
    assert ours["package_name"] == DIST_NAME
    assert ours["conn_id_attribute_name"] == "aws_conn_id"
    # the aws connection type still belongs to the amazon provider
    assert hooks["aws"]["package_name"] == "apache-airflow-providers-amazon"


def test_provider_info_agrees_with_the_hook_the_links_the_version_and_pyproject() -> None:
    """get_provider_info() is derived from the identity, and the identity names what really is there."""
    import tomllib

    from airflow_provider_pipeline_registry import provider_identity as identity
    from airflow_provider_pipeline_registry.hooks.pipeline_registry import DEFAULT_CONN_ID, PipelineRegistryHook
    from airflow_provider_pipeline_registry.links import REGISTRY_LINKS
    from airflow_provider_pipeline_registry.operators.pipeline_registry import PipelineRegistryBaseOperator
    from airflow_provider_pipeline_registry.plugins.pipeline_registry_plugin import PipelineRegistryPlugin
    from airflow_provider_pipeline_registry.sensors.pipeline_registry import PipelineRunStateSensor

    info = get_provider_info()
    # the hook class the info names is the hook, with the same connection type, name and attribute
    (conn_type,) = info["connection-types"]
    assert (
        conn_type["hook-class-name"]
        == f"{PipelineRegistryHook.__module__.rpartition('.')[0]}.pipeline_registry.{PipelineRegistryHook.__name__}"
    )
    assert (conn_type["connection-type"], conn_type["hook-name"]) == (
        PipelineRegistryHook.conn_type,
        PipelineRegistryHook.hook_name,
    )
    assert PipelineRegistryHook.conn_name_attr == identity.CONN_NAME_ATTR
    assert PipelineRegistryHook.default_conn_name == DEFAULT_CONN_ID
    # the extra links: the classes of the links package, by the module they live in (Airflow 2.11
    # finds a serialized link by its class's module path), the ones the operators, sensor and plugin carry
    assert info["extra-links"] == [f"{link.__module__}.{link.__qualname__}" for link in REGISTRY_LINKS]
    for carrier in (PipelineRegistryBaseOperator, PipelineRunStateSensor, PipelineRegistryPlugin):
        assert [type(link) for link in carrier.operator_extra_links] == list(REGISTRY_LINKS), carrier
    # the version is the installed distribution's, which pyproject.toml declares
    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text(encoding="utf-8"))
    project = pyproject["project"]
    assert info["versions"] == [importlib.metadata.version(DIST_NAME)] == [project["version"]]
    assert info["package-name"] == canonicalize_name(project["name"])
    import airflow_provider_pipeline_registry

    assert airflow_provider_pipeline_registry.__version__ == project["version"]
    # pyproject's entry points name the provider info function and the plugin the info names
    entry_points = project["entry-points"]
    assert entry_points["apache_airflow_provider"] == {"provider_info": identity.PROVIDER_INFO_ENTRY_POINT}
    (plugin,) = info["plugins"]
    module, _, name = plugin["plugin-class"].rpartition(".")
    assert entry_points["airflow.plugins"] == {plugin["name"]: f"{module}:{name}"}
    assert importlib.import_module(module).__dict__[name] is PipelineRegistryPlugin
    assert PipelineRegistryPlugin.name == plugin["name"]


def test_the_provider_identity_is_written_once() -> None:
    """The hook name, the connection type and the version are literals in one module of the package."""
    import re

    import airflow_provider_pipeline_registry

    package = Path(airflow_provider_pipeline_registry.__file__).parent

    def files_with(pattern: str) -> list[str]:
        return sorted(
            str(path.relative_to(package))
            for path in package.rglob("*.py")
            if re.search(pattern, path.read_text(encoding="utf-8"))
        )

    assert files_with(r"[\"']Pipeline Registry \(DynamoDB\)[\"']") == ["provider_identity.py"]
    # the connection type and the plugin's name (the UI route and config section are other names)
    assert files_with(r"\b(conn_type|CONN_TYPE|name|PLUGIN_NAME)\b(: \w+)? = [\"']pipeline_registry[\"']") == [
        "provider_identity.py"
    ]
    assert files_with(r"[\"']\d+\.\d+\.\d+[\"']") == []  # the version: pyproject.toml only
    assert files_with(r"[\"']airflow-provider-pipeline-registry[\"']") == ["provider_identity.py"]


def test_the_notifiers_listed_in_the_provider_info_are_base_notifiers() -> None:
    from airflow.providers.common.compat.notifier import BaseNotifier

    from airflow_provider_pipeline_registry.get_provider_info import get_provider_info

    names = get_provider_info()["notifications"]
    assert [n.rsplit(".", 1)[1] for n in names] == ["PipelineRunSuccessNotifier", "PipelineRunFailureNotifier"]
    for name in names:
        module, cls = name.rsplit(".", 1)
        assert issubclass(getattr(importlib.import_module(module), cls), BaseNotifier), name
