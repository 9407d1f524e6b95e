"""The ``pipeline-registry`` typer app, its global options and its error handling.

Registry errors become one ``error: ...`` line on stderr (no traceback, credentials redacted)
and an exit code from :class:`~.exit_codes.ExitCode`.
"""

from __future__ import annotations

import errno
import inspect
from typing import Any

import typer
from typer.core import TyperGroup

from ..registry.errors import RegistryError, redact
from .commands.config import config_app
from .commands.dags import dags_app
from .commands.options import setting_parameters
from .commands.pipelines import pipelines_app
from .commands.runs import runs_app
from .commands.tables import tables_app
from .context import CliState, GlobalOptions
from .exit_codes import ExitCode, exit_code_for
from .messages import clean_message
from .render import print_error


class RegistryGroup(TyperGroup):
    """Root command group that turns exceptions into a message and an exit code."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException, KeyboardInterrupt):
            raise
        except RegistryError as exc:
            _fail(ctx, str(exc), exit_code_for(exc))
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise
            target = f" {exc.filename!s}" if exc.filename else ""
            _fail(ctx, f"{exc.strerror or type(exc).__name__}:{target}", ExitCode.ERROR)
        except Exception as exc:
            _fail(ctx, f"unexpected {type(exc).__name__}: {redact(str(exc))}", ExitCode.ERROR)


def _fail(ctx: typer.Context, message: str, code: ExitCode) -> None:
    from rich.console import Console

    state = ctx.find_object(CliState)
    console = state.err if state is not None else Console(stderr=True, highlight=False)
    print_error(console, clean_message(redact(message)))
    raise typer.Exit(code)


app = typer.Typer(
    name="pipeline-registry",
    cls=RegistryGroup,
    help="Operate the pipeline registry: tables, config import/export, pipelines and runs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(tables_app, name="tables")
app.add_typer(config_app, name="config")
app.add_typer(pipelines_app, name="pipelines")
app.add_typer(runs_app, name="runs")
app.add_typer(dags_app, name="dags")


def root(ctx: typer.Context, **settings: Any) -> None:
    """Settings come from these options, else their environment variables."""
    # validated when a command first needs them, so that `--help` never imports boto3
    given = {name: value for name, value in settings.items() if value is not None}
    ctx.obj = CliState(GlobalOptions(values=given))


# one global option per declared registry setting (registry/settings.py), read by typer from the signature
root.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context), *setting_parameters()]
)
app.callback()(root)


def main() -> None:
    """Console-script entry point of ``pipeline-registry``."""
    app(prog_name="pipeline-registry")
