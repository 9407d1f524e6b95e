"""The ``pipeline-registry`` typer app, its global options and its error handling.

Registry errors become one ``error: ...`` line on stderr (no traceback, credentials redacted)
and an exit code from :class:`~.exit_codes.ExitCode`.
"""

from __future__ import annotations

import errno
import importlib
import inspect
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

from .commands.options import setting_parameters
from .context import CliState, GlobalOptions
from .exit_codes import ExitCode, exit_code_for
from .groups import GROUPS, CommandGroup
from .messages import clean_message
from .render import print_error


class _UnloadedGroup(TyperCommand):
    """The place of a command group whose module is not imported yet: its name and help only."""

    def __init__(self, name: str, group: CommandGroup) -> None:
        super().__init__(name, help=group.help)
        self.group = group


class RegistryGroup(TyperGroup):
    """Root command group: loads a command group's module when it is first needed, and turns
    exceptions into a message and an exit code."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, group in GROUPS.items():
            self.commands.setdefault(name, _UnloadedGroup(name, group))

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:  # type: ignore[override]
        """The command ``cmd_name``, its module imported (and its typer app converted) on first use."""
        command = self.commands.get(cmd_name)
        if isinstance(command, _UnloadedGroup):
            module = importlib.import_module(f"{__package__}.commands.{command.group.module}")
            # converted as a group added to the root app is: the root's settings, its own name
            holder = typer.Typer(**_APP_SETTINGS)
            holder.add_typer(getattr(module, command.group.app), name=cmd_name)
            command = typer.main.get_command(holder).commands[cmd_name]  # type: ignore[attr-defined]
            self.commands[cmd_name] = command
        return command

    def format_commands(self, ctx: typer.Context, formatter: Any) -> None:  # type: ignore[override]
        """The list of ``--help``, from the declared help of the groups (no module imported)."""
        shown = [(name, cmd) for name, cmd in self.commands.items() if not cmd.hidden]
        if not shown:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in shown)
        with formatter.section("Commands"):
            formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in shown])

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException, KeyboardInterrupt):
            raise
        except OSError as exc:
            if exc.errno == errno.EPIPE:
                raise
            target = f" {exc.filename!s}" if exc.filename else ""
            _fail(ctx, f"{exc.strerror or type(exc).__name__}:{target}", ExitCode.ERROR)
        except Exception as exc:
            from ..registry.errors import RegistryError, redact

            if isinstance(exc, RegistryError):
                _fail(ctx, str(exc), exit_code_for(exc))
            _fail(ctx, f"unexpected {type(exc).__name__}: {redact(str(exc))}", ExitCode.ERROR)


def _fail(ctx: typer.Context, message: str, code: ExitCode) -> None:
    from rich.console import Console

    from ..registry.errors import redact

    state = ctx.find_object(CliState)
    console = state.err if state is not None else Console(stderr=True, highlight=False)
    print_error(console, clean_message(redact(message)))
    raise typer.Exit(code)


#: what the root app's groups inherit from it
_APP_SETTINGS: dict[str, Any] = {"add_completion": False, "pretty_exceptions_enable": False, "rich_markup_mode": None}

app = typer.Typer(
    name="pipeline-registry",
    cls=RegistryGroup,
    help="Operate the pipeline registry: tables, config import/export, pipelines and runs.",
    no_args_is_help=True,
    **_APP_SETTINGS,
)
# the command groups (cli/groups.py) are added by RegistryGroup, each loaded when first needed


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
