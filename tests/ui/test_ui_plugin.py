"""How the plugin registers: provider info, entry point, when the UI part is present, its settings."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest
from fastapi import FastAPI

from airflow_provider_pipeline_registry.get_provider_info import get_provider_info
from airflow_provider_pipeline_registry.plugins import pipeline_registry_plugin as plugin_module
from airflow_provider_pipeline_registry.plugins import settings

PLUGIN_CLASS = "airflow_provider_pipeline_registry.plugins.pipeline_registry_plugin.PipelineRegistryPlugin"


def test_provider_info_registers_the_plugin_and_the_links() -> None:
    from airflow._shared.module_loading import import_string

    info = get_provider_info()
    assert info["plugins"] == [{"name": "pipeline_registry", "plugin-class": PLUGIN_CLASS}]
    for name in [p["plugin-class"] for p in info["plugins"]] + info["extra-links"]:
        assert import_string(name) is not None
    assert [import_string(n)().name for n in info["extra-links"]] == ["Registry run", "Spark UI"]


def test_entry_point_loads_a_valid_plugin() -> None:
    from airflow._shared.plugins_manager import is_valid_plugin

    (entry,) = [e for e in entry_points(group="airflow.plugins") if e.name == "pipeline_registry"]
    plugin = entry.load()
    assert is_valid_plugin(plugin)
    assert plugin.name == "pipeline_registry"
    assert [link.name for link in plugin.operator_extra_links] == ["Registry run", "Spark UI"]


def test_outside_the_api_server_the_plugin_adds_no_app_or_view() -> None:
    assert plugin_module.running_in_api_server(["airflow", "scheduler"]) is False
    assert plugin_module.running_in_api_server(["airflow", "api-server", "--port", "8080"]) is True
    assert plugin_module.UI_ACTIVE is False  # pytest is not the api-server
    assert plugin_module.PipelineRegistryPlugin.fastapi_apps == []
    assert plugin_module.PipelineRegistryPlugin.external_views == []


def test_the_api_server_entries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com/team-a/")
    app = plugin_module.fastapi_app_entry()
    assert app["url_prefix"] == "/pipeline-registry"
    assert isinstance(app["app"], FastAPI)
    view = plugin_module.external_view_entry()
    assert {k: v for k, v in view.items() if not k.startswith("icon")} == {
        "name": "Registry",
        "href": "/team-a/pipeline-registry/ui/",  # a path: no host, so it works behind proxies
        "destination": "nav",
        "url_route": "pipeline_registry",
    }
    assert settings.run_page_path("p", "d/r+1") == (
        "/team-a/plugin/pipeline_registry/pipeline-registry/ui/run?pipeline_id=p&run_id=d%2Fr%2B1"
    )


def test_settings_from_airflow_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.aws_conn_id() == "aws_default"
    assert settings.ui_enabled() is True
    monkeypatch.setenv("AIRFLOW__PIPELINE_REGISTRY__AWS_CONN_ID", "registry_ro")
    monkeypatch.setenv("AIRFLOW__PIPELINE_REGISTRY__UI_ENABLED", "False")
    assert settings.aws_conn_id() == "registry_ro"
    assert settings.ui_enabled() is False
