"""One home per concept (issue 22): a literal the provider depends on is declared once in the
package and imported everywhere else, so the copies cannot drift apart."""

from __future__ import annotations

import re
from pathlib import Path

import airflow_provider_pipeline_registry

PACKAGE = Path(airflow_provider_pipeline_registry.__file__).parent

#: constructors the base-operator refactor (issue 22, "The Airflow face as a provider") rewrites to
#: take their connection defaults from one base class; until then their copies must agree
PENDING_CONSTRUCTORS = ("operators/pipeline_registry.py", "sensors/pipeline_registry.py")


def occurrences(pattern: str) -> list[str]:
    """``path:line`` of every line of the package's Python source matching ``pattern``."""
    return [
        f"{path.relative_to(PACKAGE)}:{number}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(pattern, line)
    ]


def outside_pending(found: list[str]) -> list[str]:
    return [where for where in found if not where.startswith(PENDING_CONSTRUCTORS)]


def test_the_default_connection_id_has_one_home() -> None:
    from airflow_provider_pipeline_registry.hooks import pipeline_registry as hooks
    from airflow_provider_pipeline_registry.plugins import settings

    assert settings.DEFAULT_CONN_ID is hooks.DEFAULT_CONN_ID
    assert outside_pending(occurrences(r"[\"']aws_default[\"']")) == ["hooks/pipeline_registry.py:24"]
