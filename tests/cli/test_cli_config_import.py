"""``pipeline-registry config import``: validation first, every problem listed, --partial, big imports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_harness import Cli, WriteFile

from airflow_provider_pipeline_registry.cli.exit_codes import ExitCode
from airflow_provider_pipeline_registry.registry import Registry

pytestmark = pytest.mark.integration


def pipeline(pid: str, n_tables: int = 2, **extra: Any) -> dict[str, Any]:
    return {
        "pipeline_id": pid,
        "name": f"Pipeline {pid}",
        "owner": "data-eng",
        "spark_application": f"s3://jobs/{pid}.py",
        "spark_conf": {"spark.executor.memory": "2g"},
        "parameters": {"window_days": 3, "mode": "fast", "ratio": 0.5, "nested": {"a": [1, 2]}},
        "tags": ["finance"],
        **extra,
        "tables": [
            {"table_id": f"{pid}.t{i:04d}", "table_name": f"t{i}", "database": "raw", "format": "delta"}
            for i in range(n_tables)
        ],
    }


def scan_ids(registry: Registry) -> tuple[list[str], list[str]]:
    pipelines = sorted(p.pipeline_id for p in registry.pipelines.iter_all())
    tables = sorted(t.table_id for t in registry.tables.iter_all())
    return pipelines, tables


def test_import_yaml_and_json_then_reimport_is_unchanged(cli: Cli, registry: Registry, write_file: WriteFile) -> None:
    yaml_file = write_file("a.yaml", {"pipelines": [pipeline("sales"), pipeline("hr", 1, is_active=False)]})
    json_file = write_file("b.json", pipeline("ops", 3))  # a single pipeline mapping
    result = cli("config", "import", yaml_file, json_file)
    assert result.exit_code == 0, result.output
    assert "written" in result.stdout

    pipelines, tables = scan_ids(registry)
    assert pipelines == ["hr", "ops", "sales"]
    assert tables == ["hr.t0000", "ops.t0000", "ops.t0001", "ops.t0002", "sales.t0000", "sales.t0001"]
    table = registry.tables.get_by_id("ops.t0001")
    assert table.pipeline_id == "ops"  # defaulted from the parent pipeline
    assert table.format.value == "delta"
    assert registry.pipelines.get_by_id("hr").is_active is False

    again = cli("config", "import", yaml_file, json_file, "--json")
    assert again.exit_code == 0, again.output
    report = json.loads(again.stdout)
    assert report["pipelines"]["written"] == 0
    assert report["pipelines"]["unchanged"] == 3
    assert report["tables"] == {"written": 0, "unchanged": 6, "failed": 0, "failed_items": []}
    assert registry.pipelines.get_by_id("sales").version == 1


def test_changed_item_gets_a_new_version(cli: Cli, registry: Registry, write_file: WriteFile) -> None:
    assert cli("config", "import", write_file("a.yaml", pipeline("sales"))).exit_code == 0
    changed = pipeline("sales", owner="someone-else")
    result = cli("config", "import", write_file("b.yaml", changed), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["pipelines"]["written"], report["tables"]["unchanged"]) == (1, 2)
    stored = registry.pipelines.get_by_id("sales")
    assert (stored.owner, stored.version) == ("someone-else", 2)


def invalid_files(write_file: WriteFile) -> list[str]:
    good = pipeline("good", 2)
    bad_pipeline = pipeline("bad pipe", 1, owner="")  # space in the id, empty owner
    bad_pipeline["tables"][0]["table_id"] = "bad.t0"
    bad_tables = pipeline("fine", 3)
    bad_tables["tables"][1]["format"] = "excel"  # not a TableFormat
    bad_tables["tables"][2]["surprise"] = 1  # unknown field
    del bad_tables["tables"][0]["table_name"]  # missing
    first = write_file("first.yaml", {"pipelines": [good, bad_pipeline, bad_tables, "not-a-mapping"]})
    second = write_file(
        "second.json",
        {"pipelines": [{"pipeline_id": "nameless", "tables": [{"table_id": "x", "pipeline_id": "other"}]}]},
    )
    broken = write_file("broken.yaml", "pipelines: [ {pipeline_id: a\n")
    return [first, second, broken]


def test_invalid_files_list_every_problem_and_write_nothing(
    cli: Cli, registry: Registry, write_file: WriteFile
) -> None:
    files = invalid_files(write_file)
    result = cli("config", "import", *files, "--json")
    assert result.exit_code == ExitCode.VALIDATION, result.output
    report = json.loads(result.stdout)
    assert report["written"] is False
    found = {(p["file"].rsplit("/", 1)[-1], p["item"], p["field"]) for p in report["problems"]}
    assert found == {
        ("first.yaml", "pipelines[1] (pipeline 'bad pipe')", "pipeline_id"),
        ("first.yaml", "pipelines[1] (pipeline 'bad pipe')", "owner"),
        ("first.yaml", "pipelines[1].tables[0] (table 'bad.t0')", "pipeline_id"),
        ("first.yaml", "pipelines[2].tables[0] (table 'fine.t0000')", "table_name"),
        ("first.yaml", "pipelines[2].tables[1] (table 'fine.t0001')", "format"),
        ("first.yaml", "pipelines[2].tables[2] (table 'fine.t0002')", "surprise"),
        ("first.yaml", "pipelines[3]", "<item>"),
        ("second.json", "pipelines[0] (pipeline 'nameless')", "name"),
        ("second.json", "pipelines[0].tables[0] (table 'x')", "pipeline_id"),
        ("broken.yaml", "<file>", "<file>"),
    }
    assert scan_ids(registry) == ([], [])

    human = cli("config", "import", *files)
    assert human.exit_code == ExitCode.VALIDATION
    assert "10 problem(s)" in human.stderr
    assert "nothing written" in human.stderr
    assert "Traceback" not in human.output
    assert scan_ids(registry) == ([], [])


def test_partial_writes_the_valid_items_and_exits_validation(
    cli: Cli, registry: Registry, write_file: WriteFile
) -> None:
    files = invalid_files(write_file)
    result = cli("config", "import", "--partial", *files, "--json")
    assert result.exit_code == ExitCode.VALIDATION, result.output
    report = json.loads(result.stdout)
    assert report["written"] is True
    assert len(report["problems"]) == 10
    # 'bad pipe' is invalid, so its valid table 'bad.t0'... is invalid too (pipeline_id); 'fine' is
    # valid with no valid tables; nothing under an invalid pipeline is written.
    assert scan_ids(registry) == (["fine", "good"], ["good.t0000", "good.t0001"])
    assert report["pipelines"]["written"] == 2


def test_partial_skips_valid_tables_of_an_invalid_pipeline(cli: Cli, registry: Registry, write_file: WriteFile) -> None:
    broken = pipeline("broken", 2, schedule="x" * 300)  # too long: the pipeline is invalid, its tables are fine
    result = cli("config", "import", "--partial", write_file("p.yaml", [broken, pipeline("ok", 1)]), "--json")
    assert result.exit_code == ExitCode.VALIDATION, result.output
    report = json.loads(result.stdout)
    assert [p["field"] for p in report["problems"]] == ["schedule"]
    assert report["skipped_tables"] == ["broken.t0000", "broken.t0001"]
    assert scan_ids(registry) == (["ok"], ["ok.t0000"])


def test_duplicate_ids_across_files_are_problems(cli: Cli, registry: Registry, write_file: WriteFile) -> None:
    a = write_file("a.yaml", pipeline("same", 1))
    b = write_file("b.yaml", pipeline("same", 1))
    result = cli("config", "import", a, b, "--json")
    assert result.exit_code == ExitCode.VALIDATION
    problems = json.loads(result.stdout)["problems"]
    assert {(p["field"], p["file"].rsplit("/", 1)[-1]) for p in problems} == {
        ("pipeline_id", "a.yaml"),
        ("pipeline_id", "b.yaml"),
        ("table_id", "a.yaml"),
        ("table_id", "b.yaml"),
    }
    assert all("defined 2 times" in p["message"] for p in problems)
    assert scan_ids(registry) == ([], [])


def test_dry_run_validates_without_writing(cli: Cli, registry: Registry, write_file: WriteFile) -> None:
    result = cli("config", "import", "--dry-run", write_file("a.yaml", pipeline("p", 2)))
    assert result.exit_code == 0, result.output
    assert "1 pipeline(s), 2 table(s)" in result.stdout
    assert scan_ids(registry) == ([], [])


def test_a_missing_or_unreadable_file_is_a_usage_error(
    cli: Cli, registry: Registry, write_file: WriteFile, tmp_path: Path
) -> None:
    good = write_file("good.yaml", pipeline("p", 1))
    for path in ("/no/such/file.yaml", str(tmp_path)):  # missing; a directory
        result = cli("config", "import", good, path)
        assert result.exit_code == ExitCode.USAGE, result.output
        assert result.stderr.startswith(f"error: cannot read {path}: ")
        assert "--partial" not in result.output
        assert "Traceback" not in result.output
    assert "No such file" in cli("config", "import", "/no/such/file.yaml").stderr
    assert scan_ids(registry) == ([], [])


def test_an_empty_file_is_a_validation_problem(cli: Cli, registry: Registry, write_file: WriteFile) -> None:
    result = cli("config", "import", write_file("empty.yaml", ""), "--json")
    assert result.exit_code == ExitCode.VALIDATION
    problems = json.loads(result.stdout)["problems"]
    assert [(p["item"], p["field"]) for p in problems] == [("<file>", "<file>")]


@pytest.mark.parametrize(
    ("name", "text", "line", "key"),
    [
        ("dup.yaml", "pipelines:\n  - pipeline_id: p\n    name: A\n    owner: x\n    name: B\n", 5, "name"),
        (
            "nested.yaml",
            "- pipeline_id: p\n  name: A\n  spark_conf:\n    spark.a: '1'\n    spark.a: '2'\n",
            5,
            "spark.a",
        ),
    ],
)
def test_duplicate_yaml_keys_are_an_error_naming_file_and_line(
    cli: Cli, registry: Registry, write_file: WriteFile, name: str, text: str, line: int, key: str
) -> None:
    path = write_file(name, text)
    result = cli("config", "import", path, "--json")
    assert result.exit_code == ExitCode.VALIDATION, result.output
    [problem] = json.loads(result.stdout)["problems"]
    assert problem["file"] == path
    assert f"duplicate key {key!r} at line {line}" in problem["message"]
    assert scan_ids(registry) == ([], [])


def test_duplicate_json_keys_are_an_error(cli: Cli, registry: Registry, write_file: WriteFile) -> None:
    path = write_file("dup.json", '{"pipeline_id": "p", "name": "A", "name": "B"}')
    result = cli("config", "import", path, "--json")
    assert result.exit_code == ExitCode.VALIDATION, result.output
    [problem] = json.loads(result.stdout)["problems"]
    assert "duplicate key 'name'" in problem["message"]


def test_yaml_type_traps_get_a_hint_to_quote_the_value(cli: Cli, registry: Registry, write_file: WriteFile) -> None:
    text = (
        "pipelines:\n"
        "  - pipeline_id: 123\n"
        "    name: Numbers\n"
        "  - pipeline_id: spark_p\n"
        "    name: Spark\n"
        "    spark_conf: {spark.executor.cores: 4, spark.ui.enabled: false}\n"
        "    parameters: {since: 2026-03-01}\n"
        "    tables:\n"
        "      - {table_id: t1, table_name: t, watermark_value: 2026-03-08}\n"
    )
    result = cli("config", "import", write_file("traps.yaml", text), "--json")
    assert result.exit_code == ExitCode.VALIDATION, result.output
    problems = {p["field"]: p["message"] for p in json.loads(result.stdout)["problems"]}
    assert set(problems) == {
        "pipeline_id",
        "spark_conf['spark.executor.cores']",
        "spark_conf['spark.ui.enabled']",
        "parameters['since']",
        "watermark_value",
    }
    assert "quote the value: '2026-03-01'" in problems["parameters['since']"]
    assert "quote the value: '123'" in problems["pipeline_id"]
    assert "quote the value: '4'" in problems["spark_conf['spark.executor.cores']"]
    assert "quote the value: 'false'" in problems["spark_conf['spark.ui.enabled']"]
    assert "a date (2026-03-08)" in problems["watermark_value"]
    assert "quote the value: '2026-03-08'" in problems["watermark_value"]


def test_messages_do_not_leak_pydantic_prefixes_or_dotted_list_indexes(
    cli: Cli, registry: Registry, write_file: WriteFile
) -> None:
    result = cli("config", "import", write_file("bad.yaml", [{"pipeline_id": "p", "name": "n", "tags": ["ok", 7]}]))
    assert result.exit_code == ExitCode.VALIDATION
    assert "tags[1]" in result.stderr
    assert "tags.1" not in result.stderr
    assert "Value error" not in result.output


def _owned(registry: Registry) -> dict[str, str]:
    return {t.table_id: t.pipeline_id for t in registry.tables.iter_all()}


def test_a_table_of_another_pipeline_is_not_moved_without_allow_move(
    cli: Cli, registry: Registry, write_file: WriteFile
) -> None:
    first = {
        "pipeline_id": "alpha",
        "name": "A",
        "tables": [{"table_id": "shared", "table_name": "s", "location": "s3://a/"}],
    }
    assert cli("config", "import", write_file("alpha.yaml", first)).exit_code == 0
    second = {
        "pipeline_id": "beta",
        "name": "B",
        "tables": [{"table_id": "shared", "table_name": "s", "location": "s3://b/", "format": "delta"}],
    }
    path = write_file("beta.yaml", second)

    for args in ((), ("--dry-run",)):
        refused = cli("config", "import", *args, path)
        assert refused.exit_code == ExitCode.VALIDATION, refused.output
        assert "belongs to pipeline 'alpha'" in refused.stderr
        assert "--allow-move" in refused.stderr
    report = json.loads(cli("config", "import", path, "--json").stdout)
    assert report["moved_tables"] == [{"table_id": "shared", "from": "alpha", "to": "beta", "allowed": False}]
    assert _owned(registry) == {"shared": "alpha"}
    assert registry.tables.get_by_id("shared").location == "s3://a/"

    dry = cli("config", "import", "--dry-run", "--allow-move", path)
    assert dry.exit_code == 0, dry.output
    assert "would move table 'shared' from pipeline 'alpha' to 'beta'" in dry.stderr
    assert _owned(registry) == {"shared": "alpha"}

    moved = cli("config", "import", "--allow-move", path)
    assert moved.exit_code == 0, moved.output
    assert "moving table 'shared' from pipeline 'alpha' to 'beta'" in moved.stderr
    assert _owned(registry) == {"shared": "beta"}
    assert registry.tables.get_by_id("shared").location == "s3://b/"


def test_import_of_a_thousand_tables(cli: Cli, registry: Registry, write_file: WriteFile) -> None:
    big = write_file("big.yaml", {"pipelines": [pipeline("big_a", 600), pipeline("big_b", 400)]})
    result = cli("config", "import", big)
    assert result.exit_code == 0, result.output
    assert "1000/1000" in result.stderr  # the progress bar reached the end
    lines = [line for line in result.stdout.splitlines() if line.strip().startswith("│ tables")]
    assert lines, result.stdout
    assert "1000" in lines[0]
    assert len(list(registry.tables.iter_by_pipeline("big_a"))) == 600
    assert len(list(registry.tables.iter_by_pipeline("big_b"))) == 400

    again = cli("config", "import", big, "--json")
    assert again.exit_code == 0
    assert json.loads(again.stdout)["tables"]["unchanged"] == 1000
