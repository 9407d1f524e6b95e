"""CLI start: ``pipeline-registry --help`` against ``python -c "import typer, rich"``, fresh processes.

Both run with the same interpreter of the project's environment, interleaved (the order rotates
each round), and the figure is the median wall time of a whole process. The ``--help`` process
also reports which of rich's console, boto3, botocore and pydantic it loaded.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TARGET = 1.5
HEAVY = ("rich.console", "boto3", "botocore", "pydantic")

BASELINE = [sys.executable, "-c", "import typer, rich"]
# what the console script does, and then a report of the heavy modules on stderr
HELP = [
    sys.executable,
    "-c",
    "import sys\n"
    "from airflow_provider_pipeline_registry.cli.app import main\n"
    "sys.argv = ['pipeline-registry', '--help']\n"
    "try:\n"
    "    main()\n"
    "except SystemExit:\n"
    "    pass\n"
    f"sys.stderr.write(' '.join(m for m in {HEAVY!r} if m in sys.modules))\n",
]
SCRIPT = Path(sys.executable).parent / "pipeline-registry"


@dataclass
class CliStartResult:
    """Wall seconds per fresh process, by variant, and what ``--help`` imported."""

    seconds: dict[str, list[float]] = field(default_factory=dict)
    heavy_imported: list[str] = field(default_factory=list)

    def median(self, name: str) -> float:
        return statistics.median(self.seconds[name])


def _time(cmd: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, env=os.environ.copy())
    return time.perf_counter() - start, done.stderr


def run(*, quick: bool = False) -> CliStartResult:
    """Time the variants round-robin; the console script itself is timed too when installed."""
    variants = {"python -c 'import typer, rich'": BASELINE, "pipeline-registry --help (in-process main)": HELP}
    if SCRIPT.exists():
        variants["pipeline-registry --help (console script)"] = [str(SCRIPT), "--help"]
    result = CliStartResult(seconds={name: [] for name in variants})
    names = list(variants)
    for name in names:  # warm the OS page cache and the .pyc files
        _time(variants[name])
    rounds = 5 if quick else 21
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            seconds, stderr = _time(variants[name])
            result.seconds[name].append(seconds)
            if variants[name] is HELP:
                result.heavy_imported = stderr.split()
    return result


def report(result: CliStartResult) -> Any:
    """The section's rich table: median per variant, ratio to ``import typer, rich``, verdict."""
    from rich.table import Table

    base_name = next(iter(result.seconds))
    base = result.median(base_name)
    runs = len(result.seconds[base_name])
    table = Table(title=f"CLI start: a fresh process each (median of {runs}, interleaved)")
    for column in ("process", "median s", "vs import typer, rich", "heavy modules loaded", "target"):
        table.add_column(column, justify="right" if column in ("median s", "vs import typer, rich") else "left")
    for name in result.seconds:
        median = result.median(name)
        verdict, heavy = "", ""
        if name != base_name:
            verdict = ("met" if median <= TARGET * base else "MISSED") + f" (<={TARGET}x)"
            if "in-process" in name:
                heavy = ", ".join(result.heavy_imported) or "none of rich.console, boto3, botocore, pydantic"
        table.add_row(name, f"{median:.3f}", f"{median / base:.2f}x", heavy, verdict)
    return table
