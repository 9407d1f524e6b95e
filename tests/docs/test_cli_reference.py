"""docs/reference/cli.md is what ``scripts/cli_reference.py`` generates from the typer app."""

from __future__ import annotations

import re
from typing import Any

import typer
from doc_pages import docs_script

from airflow_provider_pipeline_registry.cli.app import app


def test_the_cli_reference_page_is_the_generated_one() -> None:
    generator = docs_script("cli_reference")
    assert generator.PAGE.read_text(encoding="utf-8") == generator.reference(), (
        "docs/reference/cli.md drifted from the typer app: run `uv run python scripts/cli_reference.py --write`"
    )


def _subcommand(command: Any, name: str) -> Any:
    return command.get_command(None, name)  # click's API: the root group loads its groups on demand


def _leaf_commands(command: Any, path: list[str]) -> list[list[str]]:
    names = command.list_commands(None) if hasattr(command, "list_commands") else []
    if not names:
        return [path]
    return [leaf for name in names for leaf in _leaf_commands(_subcommand(command, name), [*path, name])]


def test_every_command_and_option_of_the_app_is_on_the_page() -> None:
    page = docs_script("cli_reference").reference()
    root = typer.main.get_command(app)
    leaves = _leaf_commands(root, ["pipeline-registry"])
    assert len(leaves) > 10
    headings = set(re.findall(r"^#+ `([^`]+)`$", page, flags=re.M))
    missing = {" ".join(path) for path in leaves} - headings
    assert not missing
    for path in leaves:
        command = root
        for name in path[1:]:
            command = _subcommand(command, name)
        section = page.split(f"`{' '.join(path)}`\n", 1)[1].split("\n#", 1)[0]
        for param in command.params:  # type: ignore[attr-defined]
            if param.param_type_name == "option" and not param.hidden:
                assert any(f"`{opt}" in section or f", {opt}" in section for opt in param.opts), (path, param.opts)
