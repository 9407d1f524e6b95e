"""Options shared by several commands, and the global setting options derived from ``SETTINGS``."""

from __future__ import annotations

import inspect
from typing import Annotated

import typer

from ...registry.settings import SETTINGS, Setting

JsonOption = Annotated[bool, typer.Option("--json", help="Print plain JSON to stdout (for scripts).")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
PipelineOption = Annotated[str, typer.Option("--pipeline", "-p", help="The pipeline id.", show_default=False)]

#: the flag of a setting whose option is not ``--<field name with dashes>`` (kept as it always was)
SETTING_FLAGS: dict[str, str] = {"user_timezone": "--tz"}

_TYPES: dict[str, type] = {"str": str, "int": int, "float": float}
_METAVARS: dict[str, str] = {"str": "TEXT", "int": "INTEGER", "float": "FLOAT"}


def setting_flag(setting: Setting) -> str:
    """The global option of a registry setting, e.g. ``--endpoint-url``, ``--tz``."""
    return SETTING_FLAGS.get(setting.name, "--" + setting.name.replace("_", "-"))


def setting_help(setting: Setting) -> str:
    """The option's help: the declared description, default and environment variable(s)."""
    default = "" if setting.default is None else f" Default: {setting.default_text()}."
    return f"{setting.description}{default} [env: {', '.join(setting.env_vars)}]"


def setting_parameters() -> list[inspect.Parameter]:
    """One keyword parameter per declared setting (named after its ``DynamoDBConfig`` field), as
    typer reads them from a callback's signature; None (not given) falls back to the environment."""
    return [
        inspect.Parameter(
            setting.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                _TYPES[setting.kind] | None,
                typer.Option(
                    setting_flag(setting),
                    help=setting_help(setting),
                    metavar=_METAVARS[setting.kind],
                    show_default=False,
                ),
            ],
        )
        for setting in SETTINGS
    ]
