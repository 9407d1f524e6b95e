"""``pipeline-registry config export``: the import format, and the export/import round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from cli_harness import Cli, WriteFile
from test_cli_config_import import pipeline

from airflow_provider_pipeline_registry.cli.exit_codes import ExitCode
from airflow_provider_pipeline_registry.registry import Registry

pytestmark = pytest.mark.integration


def seed(cli: Cli, write_file: WriteFile) -> None:
    document = {
        "pipelines": [pipeline("alpha", 3), pipeline("beta", 2, is_active=False, description="old")],
        "tables": [{"table_id": "lonely", "pipeline_id": "ghost", "table_name": "lonely", "options": {"k": "v"}}],
    }
    result = cli("config", "import", write_file("seed.yaml", document))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("suffix", ["yaml", "json"])
def test_round_trip_leaves_everything_unchanged(
    cli: Cli, registry: Registry, write_file: WriteFile, tmp_path: Path, suffix: str
) -> None:
    seed(cli, write_file)
    before = {t.table_id: t.version for t in registry.tables.iter_all()}
    out = tmp_path / f"export.{suffix}"
    exported = cli("config", "export", "-o", str(out))
    assert exported.exit_code == 0, exported.output
    assert "exported 2 pipeline(s) and 6 table(s)" in exported.stderr

    text = out.read_text()
    document = json.loads(text) if suffix == "json" else yaml.safe_load(text)
    assert [p["pipeline_id"] for p in document["pipelines"]] == ["alpha", "beta"]
    alpha = document["pipelines"][0]
    assert [t["table_id"] for t in alpha["tables"]] == ["alpha.t0000", "alpha.t0001", "alpha.t0002"]
    assert "pipeline_id" not in alpha["tables"][0]  # implied by the parent
    assert alpha["parameters"] == {"window_days": 3, "mode": "fast", "ratio": 0.5, "nested": {"a": [1, 2]}}
    assert document["tables"] == [
        {
            "table_id": "lonely",
            "pipeline_id": "ghost",
            "table_name": "lonely",
            "role": "source",
            "format": "parquet",
            "load_type": "full",
            "watermark_type": "string",
            "partition_columns": [],
            "primary_keys": [],
            "options": {"k": "v"},
            "is_active": True,
        }
    ]
    for hidden in ("version", "created_at", "updated_at", "display_timezone"):
        assert hidden not in text

    again = cli("config", "import", str(out), "--json")
    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)
    assert (report["pipelines"]["written"], report["pipelines"]["unchanged"]) == (0, 2)
    assert (report["tables"]["written"], report["tables"]["unchanged"]) == (0, 6)
    assert {t.table_id: t.version for t in registry.tables.iter_all()} == before


def test_export_selected_pipelines_to_stdout(cli: Cli, registry: Registry, write_file: WriteFile) -> None:
    seed(cli, write_file)
    result = cli("config", "export", "--pipeline", "beta", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [p["pipeline_id"] for p in document["pipelines"]] == ["beta"]
    assert document["pipelines"][0]["is_active"] is False
    assert len(document["pipelines"][0]["tables"]) == 2
    assert "tables" not in document  # standalone tables only in a full export

    as_yaml = cli("config", "export", "-p", "alpha", "-p", "beta")
    assert as_yaml.exit_code == 0
    assert [p["pipeline_id"] for p in yaml.safe_load(as_yaml.stdout)["pipelines"]] == ["alpha", "beta"]


def test_export_of_unknown_pipeline_is_not_found(cli: Cli, registry: Registry) -> None:
    result = cli("config", "export", "--pipeline", "nope")
    assert result.exit_code == ExitCode.NOT_FOUND
    assert "nope" in result.stderr
    assert result.stdout == ""


def test_export_to_an_unwritable_path_is_a_clean_error(cli: Cli, registry: Registry) -> None:
    result = cli("config", "export", "-o", "/no/such/dir/out.yaml")
    assert result.exit_code == ExitCode.ERROR
    assert "No such file or directory" in result.stderr
    assert "Traceback" not in result.output
