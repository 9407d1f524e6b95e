"""The ``pipeline_registry`` connection form, on the Airflow installed (3.x here, 2.11 in the tier of
scripts/test-airflow2.sh): Airflow 3.2+ reads it from the provider info's ``conn-fields``, older
versions from the hook's ``get_connection_form_widgets()`` / ``get_ui_field_behaviour()``, which
derive it from that same provider info. Either way ProvidersManager shows every declared field, and
nothing of ours warns (no deprecated API on Airflow 3).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest
from airflow_versions import AIRFLOW_V3

from airflow_provider_pipeline_registry.get_provider_info import get_provider_info

pytestmark = pytest.mark.airflow

PREFIX = "extra__pipeline_registry__"

# A fresh interpreter: ProvidersManager is a process-wide singleton and warnings fire once per import.
_PROBE = textwrap.dedent(
    """
    import json, warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import airflow_provider_pipeline_registry.callbacks
        import airflow_provider_pipeline_registry.hooks.pipeline_registry as hooks
        import airflow_provider_pipeline_registry.operators.pipeline_registry
        import airflow_provider_pipeline_registry.sensors.pipeline_registry
        import airflow_provider_pipeline_registry.triggers.pipeline_registry
        hooks.PipelineRegistryHook
        from airflow.providers_manager import ProvidersManager
        manager = ProvidersManager()
        hook = manager.hooks["pipeline_registry"]
        widgets = manager.connection_form_widgets
        behaviour = manager.field_behaviours.get("pipeline_registry")

    def label(info):
        field = info.field
        if isinstance(field, dict):  # Airflow 3.2+: the API form of conn-fields
            return field["schema"].get("title")
        return str(field.args[0])  # Airflow < 3.2: an unbound wtforms field

    print("RESULT=" + json.dumps({
        "hook": hook.hook_class_name if hook else None,
        "widgets": {k: label(v) for k, v in widgets.items() if k.startswith("extra__pipeline_registry__")},
        "behaviour": behaviour,
        "warnings": [f"{w.category.__name__}: {w.message} [{w.filename}]" for w in caught],
    }))
    """
)


@pytest.fixture(scope="module")
def probe() -> dict[str, Any]:
    result = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("RESULT=")]
    return json.loads(line.removeprefix("RESULT="))  # type: ignore[no-any-return]


def _connection_type() -> dict[str, Any]:
    (conn_type,) = get_provider_info()["connection-types"]
    return conn_type  # type: ignore[no-any-return]


def test_providers_manager_shows_every_declared_field_with_its_label(probe: dict[str, Any]) -> None:
    assert probe["hook"] == "airflow_provider_pipeline_registry.hooks.pipeline_registry.PipelineRegistryHook"
    declared = {f"{PREFIX}{name}": field["label"] for name, field in _connection_type()["conn-fields"].items()}
    assert probe["widgets"] == declared


def test_providers_manager_hides_and_relabels_the_declared_fields(probe: dict[str, Any]) -> None:
    declared = _connection_type()["ui-field-behaviour"]
    behaviour = probe["behaviour"]
    assert behaviour is not None
    assert behaviour["hidden_fields"] == declared["hidden-fields"]
    assert behaviour["relabeling"] == declared["relabeling"]
    # Airflow prefixes placeholders of extra fields; login/password are standard fields
    assert behaviour["placeholders"] == declared["placeholders"]


def test_nothing_of_ours_warns_at_import_or_registration(probe: dict[str, Any]) -> None:
    ours = [w for w in probe["warnings"] if "pipeline_registry" in w or "PipelineRegistryHook" in w]
    assert ours == []
    if AIRFLOW_V3:  # on Airflow 3 no deprecation warning at all, from anyone, on this path
        assert [w for w in probe["warnings"] if "Deprecat" in w] == []


def test_form_fields_validate_as_the_provider_info_declares() -> None:
    from airflow_provider_pipeline_registry.compat import AIRFLOW_V_3_2_PLUS
    from airflow_provider_pipeline_registry.hooks.pipeline_registry import PipelineRegistryHook

    if AIRFLOW_V_3_2_PLUS:
        # Airflow 3.2+ validates with the conn-fields JSON schemas and warns about the hook methods
        assert "get_connection_form_widgets" not in PipelineRegistryHook.__dict__
        assert "get_ui_field_behaviour" not in PipelineRegistryHook.__dict__
        return
    from wtforms import Form

    form_class = type("ConnectionForm", (Form,), PipelineRegistryHook.get_connection_form_widgets())

    def errors(**data: Any) -> dict[str, Any]:
        from werkzeug.datastructures import MultiDict

        form = form_class(formdata=MultiDict({k: str(v) for k, v in data.items()}))
        form.validate()
        return dict(form.errors)

    assert errors() == {}  # every field is optional
    good = {
        "endpoint_url": "http://localhost:8000",
        "table_prefix": "prod_",
        "environment": "staging",
        "connect_timeout": "2.5",
        "max_attempts": "3",
    }
    assert errors(**good) == {}
    assert set(errors(endpoint_url="not a url")) == {"endpoint_url"}
    assert set(errors(table_prefix="prod prefix!")) == {"table_prefix"}
    assert set(errors(environment="qa")) == {"environment"}
    assert set(errors(connect_timeout="soon")) == {"connect_timeout"}
    assert set(errors(connect_timeout="0")) == {"connect_timeout"}  # below the declared minimum 0.1
    assert set(errors(max_attempts="50")) == {"max_attempts"}
