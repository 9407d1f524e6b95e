"""Console-script entry point of ``pipeline-registry``.

The script is installed with every install of the package, but the command's libraries (typer,
rich, PyYAML) come with the ``cli`` extra: without them it says which are missing and how to
install them (exit code 1), instead of a traceback. This module imports only the standard library
before that check.
"""

from __future__ import annotations

import importlib.util
import sys

#: import name -> distribution of each library the command needs (the ``cli`` extra)
CLI_LIBRARIES = {"typer": "typer", "rich": "rich", "yaml": "PyYAML"}
CLI_EXTRA_INSTALL = "pip install 'airflow-provider-pipeline-registry[cli]'"


def missing_cli_libraries() -> list[str]:
    """The distributions of the ``cli`` extra that are not installed."""
    return [dist for module, dist in CLI_LIBRARIES.items() if importlib.util.find_spec(module) is None]


def main() -> None:
    """Run ``pipeline-registry``, or explain which extra is missing."""
    missing = missing_cli_libraries()
    if missing:
        sys.stderr.write(
            f"error: pipeline-registry needs the `cli` extra (missing: {', '.join(missing)}); "
            f"install it with: {CLI_EXTRA_INSTALL}\n"
        )
        raise SystemExit(1)
    from .app import main as run

    run()
