"""``pipeline-registry dags``: the snapshot generated DAGs are built from (``registry_dags``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..context import get_state
from ..groups import GROUPS
from ..render import echo_json
from .options import JsonOption

dags_app = typer.Typer(help=GROUPS["dags"].help, no_args_is_help=True)


@dags_app.command("snapshot")
def snapshot(
    ctx: typer.Context,
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="The snapshot file (replaced atomically).", show_default=False),
    ],
    as_json: JsonOption = False,
) -> None:
    """Write the active pipelines and their target tables to a snapshot file for ``registry_dags``.

    Two reads whatever the number of pipelines; the file is rewritten only when a pipeline changed.
    """
    from ...registry.dag_snapshot import build_snapshot, write_snapshot

    state = get_state(ctx)
    document = build_snapshot(state.registry)
    changed = write_snapshot(output, document)
    ids = [p["pipeline_id"] for p in document["pipelines"]]
    if as_json:
        echo_json({"output": str(output), "pipelines": ids, "changed": changed})
        return
    verb = "wrote" if changed else "unchanged:"
    state.out.print(f"{verb} {output} ({len(ids)} active pipeline(s))", soft_wrap=True)
