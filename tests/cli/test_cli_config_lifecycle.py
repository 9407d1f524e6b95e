"""Config lifecycle: ``config diff``, ``config import --prune``, ``pipelines delete``, ``tables delete``
(issue 24), on DynamoDB Local.

The concurrent edit is injected at the HTTP layer: a botocore ``before-send`` hook (added to
``botocore.handlers.BUILTIN_HANDLERS``, so the CLI's own client gets it when it is created) edits
the item with another client just before the CLI's read or delete of it is sent.
"""

from __future__ import annotations

import glob
import importlib.util
import json
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import botocore.handlers
import pytest
from cli_harness import Cli, WriteFile
from docs.doc_pages import section

from airflow_provider_pipeline_registry.cli.exit_codes import ExitCode
from airflow_provider_pipeline_registry.registry import DynamoDBConfig, Registry

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SECRET = "s3cr3t-value-never-shown"


def pipeline(pid: str, tables: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "pipeline_id": pid,
        "name": f"Pipeline {pid}",
        "owner": "data-eng",
        "spark_application": f"s3://jobs/{pid}.py",
        "spark_conf": {"spark.executor.memory": "2g", "spark.hadoop.fs.s3a.secret.key": SECRET},
        "tags": ["team-a"],
        **extra,
        "tables": [{"table_id": t, "table_name": t.replace(".", "_")} for t in tables],
    }


def ids(registry: Registry) -> tuple[dict[str, int], dict[str, int]]:
    """Stored pipelines and tables, id -> version."""
    return (
        {p.pipeline_id: p.version for p in registry.pipelines.iter_all()},
        {t.table_id: t.version for t in registry.tables.iter_all()},
    )


@pytest.fixture
def initial(cli: Cli, registry: Registry, write_file: WriteFile) -> str:
    """Pipelines a (a.t0, a.t1) and b (b.t0) imported."""
    path = write_file("initial.yaml", {"pipelines": [pipeline("a", ["a.t0", "a.t1"]), pipeline("b", ["b.t0"])]})
    result = cli("config", "import", path)
    assert result.exit_code == 0, result.output
    return path


def desired(write_file: WriteFile) -> str:
    """a changed (owner, memory, the secret), a.t1 dropped; b dropped; c added."""
    changed = pipeline("a", ["a.t0"], owner="data-platform")
    changed["spark_conf"] = {"spark.executor.memory": "4g", "spark.hadoop.fs.s3a.secret.key": SECRET + "-rotated"}
    return write_file("desired.yaml", {"pipelines": [changed, pipeline("c", ["c.t0"])]})


# -- config diff ----------------------------------------------------------------------------------
def test_diff_lists_adds_field_changes_and_removals_redacted_and_writes_nothing(
    cli: Cli, registry: Registry, write_file: WriteFile, initial: str
) -> None:
    path = desired(write_file)
    before = ids(registry)

    result = cli("config", "diff", path, "--json")
    assert result.exit_code == ExitCode.DIFFERENCES, result.output
    diff = json.loads(result.stdout)
    assert diff["differences"] is True
    assert diff["prune_scope"] == "all"
    assert diff["pipelines"]["add"] == ["c"]
    assert diff["pipelines"]["remove"] == [{"id": "b", "version": 1, "running_runs": []}]
    [change] = diff["pipelines"]["change"]
    assert (change["id"], change["version"]) == ("a", 1)
    assert change["fields"] == [
        {"field": "owner", "from": "data-eng", "to": "data-platform"},
        {"field": "spark_conf['spark.executor.memory']", "from": "2g", "to": "4g"},
        {"field": "spark_conf['spark.hadoop.fs.s3a.secret.key']", "from": "***", "to": "***"},
    ]
    assert diff["tables"]["add"] == ["c.t0"]
    assert diff["tables"]["remove"] == [
        {"id": "a.t1", "version": 1, "pipeline_id": "a"},
        {"id": "b.t0", "version": 1, "pipeline_id": "b"},
    ]
    assert diff["tables"]["unchanged"] == 1
    assert SECRET not in result.output

    human = cli("config", "diff", path)
    assert human.exit_code == ExitCode.DIFFERENCES, human.output
    lines = human.stdout.splitlines()
    assert "+ pipeline c" in lines
    assert "~ pipeline a (version 1)" in lines
    assert '    owner: "data-eng" -> "data-platform"' in lines
    assert "- pipeline 'b' (version 1)" in lines
    assert "- table 'a.t1' (pipeline 'a', version 1)" in lines
    assert SECRET not in human.output

    assert ids(registry) == before  # nothing written
    assert registry.pipelines.get_by_id("a").owner == "data-eng"

    applied = cli("config", "import", "--prune", path, "--json")
    assert applied.exit_code == 0, applied.output
    assert ids(registry) == ({"a": 2, "c": 1}, {"a.t0": 1, "c.t0": 1})
    again = cli("config", "diff", path)
    assert again.exit_code == 0, again.output
    assert "no differences" in again.stdout


def test_diff_of_invalid_files_compares_nothing_and_exits_5(
    cli: Cli, registry: Registry, write_file: WriteFile
) -> None:
    path = write_file("bad.yaml", {"pipelines": [{"pipeline_id": "x"}]})  # no name
    result = cli("config", "diff", path, "--json")
    assert result.exit_code == ExitCode.VALIDATION, result.output
    report = json.loads(result.stdout)
    assert report["differences"] is None
    assert [(p["item"], p["field"]) for p in report["problems"]] == [("pipelines[0] (pipeline 'x')", "name")]


def test_prune_scope_removes_only_matching_pipelines_and_their_tables(
    cli: Cli, registry: Registry, write_file: WriteFile
) -> None:
    others = pipeline("theirs", ["theirs.t0"], owner="other-team", tags=["team-b"])
    first = write_file("all.yaml", {"pipelines": [pipeline("a", ["a.t0"]), pipeline("b", ["b.t0"]), others]})
    assert cli("config", "import", first).exit_code == 0
    ours = write_file("ours.yaml", {"pipelines": [pipeline("a", ["a.t0"])]})

    scoped = cli("config", "diff", ours, "--prune-scope", "owner=data-eng", "--json")
    assert scoped.exit_code == ExitCode.DIFFERENCES, scoped.output
    diff = json.loads(scoped.stdout)
    assert [r["id"] for r in diff["pipelines"]["remove"]] == ["b"]
    assert [r["id"] for r in diff["tables"]["remove"]] == ["b.t0"]

    result = cli("config", "import", "--prune", "--prune-scope", "tag=team-a", ours)
    assert result.exit_code == 0, result.output
    assert ids(registry) == ({"a": 1, "theirs": 1}, {"a.t0": 1, "theirs.t0": 1})

    bad = cli("config", "diff", ours, "--prune-scope", "team=x")
    assert bad.exit_code == ExitCode.USAGE
    assert "owner=NAME or tag=TAG" in bad.output


def test_prune_refuses_a_declared_table_whose_pipeline_it_would_remove(
    cli: Cli, registry: Registry, write_file: WriteFile, initial: str
) -> None:
    path = write_file(
        "orphan.yaml",
        {
            "pipelines": [pipeline("a", ["a.t0", "a.t1"])],
            "tables": [{"table_id": "b.t0", "pipeline_id": "b", "table_name": "x"}],
        },
    )
    result = cli("config", "import", "--prune", path, "--json")
    assert result.exit_code == ExitCode.VALIDATION, result.output
    [problem] = json.loads(result.stdout)["problems"]
    assert (problem["item"], problem["field"]) == ("tables[0] (table 'b.t0')", "pipeline_id")
    assert "'b' is not declared" in problem["message"]
    assert ids(registry) == ({"a": 1, "b": 1}, {"a.t0": 1, "a.t1": 1, "b.t0": 1})


def test_prune_options_are_usage_errors_where_they_do_not_apply(cli: Cli, registry: Registry, initial: str) -> None:
    for args, message in (
        (("--prune", "--partial"), "cannot be combined with --partial"),
        (("--force",), "apply to --prune only"),
        (("--prune-scope", "owner=x"), "apply to --prune only"),
    ):
        result = cli("config", "import", *args, initial)
        assert result.exit_code == ExitCode.USAGE, result.output
        assert message in result.output
    assert ids(registry) == ({"a": 1, "b": 1}, {"a.t0": 1, "a.t1": 1, "b.t0": 1})


# -- the documented quickstarts, then the seed -------------------------------------------------------
def _readme_blocks() -> Any:
    name = "readme_blocks_for_cli_tests"
    spec = importlib.util.spec_from_file_location(name, REPO / "tests" / "docs" / "readme_blocks.py")
    assert spec is not None
    assert spec.loader is not None
    module = sys.modules.get(name) or importlib.util.module_from_spec(spec)
    if name not in sys.modules:
        sys.modules[name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return module


def _block(title: str, language: str, *markers: str) -> str:
    """The one block of ``language`` holding every marker in the docs section ``title`` (on whichever
    page holds it; snippet includes expanded)."""
    found = section(title)
    blocks = _readme_blocks().parse_text(found.text, found.path.name)
    codes = [b.code for b in blocks if b.language == language and all(m in b.code for m in markers)]
    where = f"{found.path.name} {title!r}"
    assert len(codes) == 1, f"{where}: expected one {language} block with {markers}, found {len(codes)}"
    return str(codes[0])


def test_readme_quickstarts_then_the_seed_with_prune_leave_exactly_the_seed(
    cli: Cli, dynamodb_endpoint: str, unique_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the core quickstart (docs "Quickstart" of the registry core), on this test's tables
    core = _block("Quickstart", "python", "registry.create_tables()", 'RUN_ID = "sales_daily/quickstart"')
    assert 'endpoint_url="http://localhost:8000"' in core
    assert 'environment="dev",' in core
    core = core.replace('endpoint_url="http://localhost:8000"', f"endpoint_url={dynamodb_endpoint!r}")
    core = core.replace('environment="dev",', f'environment="dev", table_prefix={unique_prefix!r},')
    exec(compile(core, "README.md", "exec"), {"__name__": "__main__"})
    # the CLI quick start (docs "Quick start (DynamoDB Local)"), every command, from a checkout-like cwd
    (tmp_path / "examples").symlink_to(REPO / "examples")
    monkeypatch.chdir(tmp_path)
    shell = _block("Quick start", "bash", "uv run pipeline-registry tables create")
    commands = [shlex.split(line, comments=True) for line in shell.splitlines()]
    commands = [c[3:] for c in commands if c[:3] == ["uv", "run", "pipeline-registry"]]
    assert ["config", "import", "examples/pipelines/*.yaml"] in commands
    for args in commands:
        expanded = [p for a in args for p in (sorted(glob.glob(a)) if "*" in a else [a])]
        result = cli(*expanded)
        assert result.exit_code == 0, (args, result.output)

    registry = Registry(DynamoDBConfig(endpoint_url=dynamodb_endpoint, table_prefix=unique_prefix))
    _, tables = ids(registry)
    assert {"sales_daily.orders", "sales_raw", "sales_clean", "fx_rates"} <= set(tables)

    # the seed, with its placeholders filled in as scripts/demo.py does
    text = (REPO / "dags_examples" / "seed" / "pipelines.yaml").read_text(encoding="utf-8")
    seed = tmp_path / "seed.yaml"
    seed.write_text(text.replace("{examples_dir}", "/opt/examples").replace("{data_dir}", "/data"), encoding="utf-8")
    import yaml

    document = yaml.safe_load(seed.read_text(encoding="utf-8"))
    seed_pipelines = {p["pipeline_id"] for p in document["pipelines"]}
    seed_tables = {t["table_id"] for p in document["pipelines"] for t in p["tables"]}

    plain = cli("config", "import", str(seed))  # what the README said so far: the stale tables stay
    assert plain.exit_code == 0, plain.output
    assert set(ids(registry)[1]) > seed_tables

    diff = cli("config", "diff", str(seed), "--json")
    assert diff.exit_code == ExitCode.DIFFERENCES, diff.output
    removed = json.loads(diff.stdout)
    assert {r["id"] for r in removed["tables"]["remove"]} == set(ids(registry)[1]) - seed_tables
    assert [r["id"] for r in removed["pipelines"]["remove"]] == ["fx_daily"]

    pruned = cli("config", "import", "--prune", str(seed))
    assert pruned.exit_code == 0, pruned.output
    pipelines, tables = ids(registry)
    assert set(pipelines) == seed_pipelines
    assert set(tables) == seed_tables
    assert registry.runs.find_by_id("sales_daily/quickstart", "sales_daily") is not None  # run history kept
    assert cli("config", "diff", str(seed)).exit_code == 0


# -- RUNNING runs ---------------------------------------------------------------------------------
def _start_run(registry: Registry, pipeline_id: str, run_id: str) -> None:
    registry.runs_write.start({"run_id": run_id, "pipeline_id": pipeline_id, "dag_id": "d", "task_id": "start_run"})


def test_prune_refuses_a_pipeline_with_a_running_run_unless_forced(
    cli: Cli, registry: Registry, write_file: WriteFile, initial: str
) -> None:
    _start_run(registry, "b", "b/running-1")
    only_a = write_file("only_a.yaml", {"pipelines": [pipeline("a", ["a.t0", "a.t1"], owner="changed")]})
    before = ids(registry)

    refused = cli("config", "import", "--prune", only_a)
    assert refused.exit_code == ExitCode.CONFLICT, refused.output
    assert "pipeline 'b' has 1 RUNNING run(s): 'b/running-1'" in refused.stderr
    assert ids(registry) == before  # refused before anything is written (a's change included)

    dry = cli("config", "import", "--prune", "--dry-run", only_a)
    assert dry.exit_code == ExitCode.CONFLICT, dry.output
    assert "would remove: - pipeline 'b' (version 1)  RUNNING run(s): 'b/running-1'" in dry.stdout
    assert "would remove: - table 'b.t0' (pipeline 'b', version 1)" in dry.stdout
    assert ids(registry) == before

    diff = cli("config", "diff", only_a, "--json")
    assert json.loads(diff.stdout)["pipelines"]["remove"] == [
        {"id": "b", "version": 1, "running_runs": ["b/running-1"]}
    ]

    forced = cli("config", "import", "--prune", "--force", only_a, "--json")
    assert forced.exit_code == 0, forced.output
    report = json.loads(forced.stdout)
    assert report["removed"]["pipelines"]["deleted"] == [{"id": "b", "version": 1, "running_runs": ["b/running-1"]}]
    assert ids(registry) == ({"a": 2}, {"a.t0": 1, "a.t1": 1})
    assert registry.runs.find_by_id("b/running-1", "b") is not None  # the run log stays


# -- a concurrent edit ------------------------------------------------------------------------------
@pytest.fixture
def edit_before(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str, Callable[[], None]], list[int]]:
    """``edit_before(operation, pipeline_id, edit)``: run ``edit`` once, just before the first
    ``operation`` request on that pipeline's key is sent by any client created afterwards."""

    def install(operation: str, pipeline_id: str, edit: Callable[[], None]) -> list[int]:
        fired: list[int] = []

        def hook(request: Any, **_: Any) -> None:
            body = json.loads(request.body or b"{}")
            if fired or body.get("Key", {}).get("pipeline_id", {}).get("S") != pipeline_id:
                return
            fired.append(1)
            edit()

        handlers = [*botocore.handlers.BUILTIN_HANDLERS, (f"before-send.dynamodb.{operation}", hook)]
        monkeypatch.setattr(botocore.handlers, "BUILTIN_HANDLERS", handlers)
        return fired

    return install


@pytest.mark.parametrize("operation", ["GetItem", "DeleteItem"])
def test_an_edit_after_the_prune_read_is_reported_not_overwritten(
    cli: Cli,
    registry: Registry,
    write_file: WriteFile,
    initial: str,
    operation: str,
    edit_before: Callable[[str, str, Callable[[], None]], list[int]],
) -> None:
    fired = edit_before(operation, "b", lambda: registry.pipelines_write.update("b", {"owner": "someone-else"}))
    only_a = write_file("only_a.yaml", {"pipelines": [pipeline("a", ["a.t0", "a.t1"])]})
    result = cli("config", "import", "--prune", only_a)
    assert fired == [1]
    assert result.exit_code == ExitCode.CONFLICT, result.output
    assert "not deleted: pipeline 'b' changed since it was read" in result.stdout
    assert "is at version 2, not the expected version 1" in result.stdout
    assert "kept: table 'b.t0' (pipeline 'b', version 1) (its pipeline was not deleted)" in result.stdout
    assert "run `config diff` again" in result.stderr
    stored = registry.pipelines.get_by_id("b", consistent=True)
    assert (stored.owner, stored.version) == ("someone-else", 2)
    assert ids(registry)[1] == {"a.t0": 1, "a.t1": 1, "b.t0": 1}


def test_an_edit_between_a_reviewed_diff_and_the_prune_refuses_the_import(
    cli: Cli, registry: Registry, write_file: WriteFile, initial: str, tmp_path: Path
) -> None:
    only_a = write_file("only_a.yaml", {"pipelines": [pipeline("a", ["a.t0", "a.t1"], owner="changed")]})
    reviewed = tmp_path / "reviewed.json"
    diff = cli("config", "diff", only_a, "--json")
    assert diff.exit_code == ExitCode.DIFFERENCES, diff.output
    reviewed.write_text(diff.stdout, encoding="utf-8")

    registry.pipelines_write.update("b", {"description": "edited by hand after the review"})
    registry.pipelines_write.upsert({"pipeline_id": "new", "name": "created by hand after the review"})
    before = ids(registry)
    refused = cli("config", "import", "--prune", "--reviewed-diff", str(reviewed), only_a)
    assert refused.exit_code == ExitCode.CONFLICT, refused.output
    assert "the registry changed since the reviewed diff" in refused.stderr
    assert "pipeline 'b' is at version 2, reviewed at version 1" in refused.stderr
    assert "pipeline 'new' (version 1) is not in it" in refused.stderr
    assert ids(registry) == before  # nothing written, a's change included

    again = tmp_path / "again.json"
    again.write_text(cli("config", "diff", only_a, "--json").stdout, encoding="utf-8")
    applied = cli("config", "import", "--prune", "--reviewed-diff", str(again), only_a)
    assert applied.exit_code == 0, applied.output
    assert ids(registry) == ({"a": 2}, {"a.t0": 1, "a.t1": 1})

    not_a_diff = cli("config", "import", "--prune", "--reviewed-diff", only_a, only_a)
    assert not_a_diff.exit_code == ExitCode.VALIDATION, not_a_diff.output
    assert "not the output of `config diff --json`" in not_a_diff.stderr


# -- pipelines delete / tables delete --------------------------------------------------------------
def test_pipelines_delete_asks_deletes_its_tables_and_keeps_its_runs(
    cli: Cli, registry: Registry, initial: str
) -> None:
    _start_run(registry, "a", "a/r1")
    registry.runs_write.finish({"run_id": "a/r1", "pipeline_id": "a", "status": "SUCCESS"})

    declined = cli("pipelines", "delete", "a", input="n\n")
    assert declined.exit_code == ExitCode.ERROR, declined.output
    assert "Delete pipeline 'a' (version 1) and its 2 table(s): a.t0, a.t1?" in declined.stderr
    assert "nothing deleted" in declined.stderr
    assert "a" in ids(registry)[0]

    done = cli("pipelines", "delete", "a", input="y\n")
    assert done.exit_code == 0, done.output
    assert "deleted pipeline 'a' (version 1)" in done.stdout
    assert ids(registry) == ({"b": 1}, {"b.t0": 1})
    assert registry.runs.find_by_id("a/r1", "a") is not None

    missing = cli("pipelines", "delete", "a", "--yes")
    assert missing.exit_code == ExitCode.NOT_FOUND, missing.output


def test_pipelines_delete_refuses_a_running_pipeline_unless_forced(cli: Cli, registry: Registry, initial: str) -> None:
    _start_run(registry, "b", "b/live")
    refused = cli("pipelines", "delete", "b", "--yes")
    assert refused.exit_code == ExitCode.CONFLICT, refused.output
    assert "pipeline 'b' has 1 RUNNING run(s): 'b/live'" in refused.stderr
    assert "b" in ids(registry)[0]
    forced = cli("pipelines", "delete", "b", "--yes", "--force", "--json")
    assert forced.exit_code == 0, forced.output
    assert json.loads(forced.stdout)["tables"]["deleted"] == [{"id": "b.t0", "version": 1, "pipeline_id": "b"}]
    assert ids(registry) == ({"a": 1}, {"a.t0": 1, "a.t1": 1})


def test_tables_delete_refuses_an_attached_table_unless_forced(cli: Cli, registry: Registry, initial: str) -> None:
    refused = cli("tables", "delete", "a.t1", "--yes")
    assert refused.exit_code == ExitCode.CONFLICT, refused.output
    assert "refusing to delete table 'a.t1': it belongs to pipeline 'a', which exists" in refused.stderr
    forced = cli("tables", "delete", "a.t1", "--yes", "--force")
    assert forced.exit_code == 0, forced.output
    assert "deleted table 'a.t1' (pipeline 'a', version 1)" in forced.stdout

    registry.tables_write.upsert({"table_id": "orphan", "pipeline_id": "gone", "table_name": "o"})
    orphan = cli("tables", "delete", "orphan", "--yes", "--json")
    assert orphan.exit_code == 0, orphan.output
    assert json.loads(orphan.stdout) == {"deleted": {"id": "orphan", "version": 1, "pipeline_id": "gone"}}
    assert ids(registry)[1] == {"a.t0": 1, "b.t0": 1}
    assert cli("tables", "delete", "orphan", "--yes").exit_code == ExitCode.NOT_FOUND
