"""The run states: the one declaration (plain Python, no pydantic, no boto3).

``RUNNING -> SUCCESS | FAILED | CANCELLED``. Everything that names a run state (the models, the
lifecycle decisions, the sensor's verdict, the operators' end statuses, the CLI and the UI)
derives it from :class:`RunStatus`; importing this module is cheap enough for DAG parsing.
"""

from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    """``RUNNING -> SUCCESS | FAILED | CANCELLED``; the three end states are final for an attempt."""

    RUNNING = "RUNNING"
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def is_terminal(self) -> bool:
        return self is not RunStatus.RUNNING


TERMINAL_STATUSES = frozenset({RunStatus.SUCCESS, RunStatus.FAILED, RunStatus.CANCELLED})
#: every run state as its stored text, in declaration order (RUNNING first)
RUN_STATES: tuple[str, ...] = tuple(s.value for s in RunStatus)
#: the states an end can record, as their stored text
END_STATUSES: tuple[str, ...] = tuple(s.value for s in RunStatus if s.is_terminal)
