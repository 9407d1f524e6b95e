"""Options shared by several commands."""

from __future__ import annotations

from typing import Annotated

import typer

JsonOption = Annotated[bool, typer.Option("--json", help="Print plain JSON to stdout (for scripts).")]
PipelineOption = Annotated[str, typer.Option("--pipeline", "-p", help="The pipeline id.", show_default=False)]
