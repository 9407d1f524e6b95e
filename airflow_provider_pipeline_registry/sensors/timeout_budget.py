"""The sensor's timeout, counted from the first poke and not reset by retries.

Airflow 3.3 gives every task instance a state store that its retries share
(``context["task_state_store"]``). The sensor keeps the time of its first poke there, tagged with
the first try number of the current series of tries (``max_tries - retries + 1``, as Airflow
computes it for reschedules), so a retry continues the same budget while a *cleared* task, whose
series starts again, gets a fresh one. Without a state store (Airflow < 3.3) or when it cannot be
reached, a try counts from its own first poke, as every Airflow sensor does.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from ..registry.timezones import format_utc, parse_utc

log = logging.getLogger(__name__)

#: the key of the first poke's time in the task state store
FIRST_POKE_KEY = "pipeline_registry_sensor_first_poke"


def series_of(ti: Any, retries: int | None) -> int | None:
    """The first try number of the task's current series of tries (None when unknown)."""
    max_tries = getattr(ti, "max_tries", None)
    if not isinstance(max_tries, int):
        return None
    return max_tries - int(retries or 0) + 1


def first_poke_at(context: Mapping[str, Any], *, retries: int | None, now: datetime, keep_for: timedelta) -> datetime:
    """When this series of tries first poked: the stored time, or ``now`` (then stored)."""
    store = context.get("task_state_store")
    series = series_of(context.get("ti"), retries)
    if store is None or series is None:
        return now
    try:
        saved = store.get(FIRST_POKE_KEY)
        if isinstance(saved, Mapping) and saved.get("series") == series and isinstance(saved.get("at"), str):
            return parse_utc(saved["at"])
        store.set(FIRST_POKE_KEY, {"series": series, "at": format_utc(now)}, retention=keep_for)
    except Exception as exc:  # the store is a convenience: without it this try counts from now
        log.warning("could not use the task state store for the sensor's timeout (%s: %s)", type(exc).__name__, exc)
    return now


def remaining_seconds(budget: float, first_poke: datetime, now: datetime) -> float:
    """What is left of ``budget`` seconds counted from ``first_poke`` (never negative)."""
    return max(0.0, budget - (now - first_poke).total_seconds())
