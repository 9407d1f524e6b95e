"""A pipeline's ``schedule`` and ``dag`` settings: what they may say, checked when they are written.

``schedule`` is one of (case of the keywords ignored):

* nothing, ``none`` or ``manual``: no schedule (runs are triggered);
* an Airflow preset: ``@once``, ``@continuous``, ``@hourly``, ``@daily``, ``@weekly``,
  ``@monthly``, ``@quarterly``, ``@yearly``;
* a 5-field cron expression (``30 2 * * 1-5``): ``*``, lists, ranges, ``/`` steps, month and
  weekday names, ``L`` (last day of the month) and ``weekday#n``;
* an ISO 8601 duration of weeks, days, hours, minutes and seconds (``PT6H``, ``P1D``,
  ``P1DT12H``): a fixed interval (a month or a year is not one: use a cron expression);
* ``after:<pipeline_id>[,<pipeline_id>...]``: after each successful run of those pipelines (the
  generated DAG is scheduled on their target tables' assets).

:func:`parse_schedule` returns a :class:`Schedule` or raises :class:`~.errors.ValidationError`
naming the field. Imports neither Airflow nor a cron library.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from .errors import ValidationError

ScheduleKind = Literal["none", "preset", "cron", "duration", "after"]

PRESETS = frozenset({"@once", "@continuous", "@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly"})
NONE_WORDS = frozenset({"", "none", "manual"})

_MONTHS = {m: i for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN"], start=1)} | {
    m: i for i, m in enumerate(["JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=7)
}
_WEEKDAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}
#: (name, low, high, names) of the five cron fields
_CRON_FIELDS: tuple[tuple[str, int, int, Mapping[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _WEEKDAYS),
)
_DURATION = re.compile(
    r"^P(?!$)(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)
_CALENDAR_DURATION = re.compile(r"^P[^T]*[YM]")
_PIPELINE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@/+=-]*$")
_AFTER = re.compile(r"^after(?:\s*:|\s)\s*(?P<ids>.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class Schedule:
    """A parsed ``schedule``: ``kind`` and what Airflow needs for it.

    ``value`` is the preset or cron expression (``None`` for the other kinds), ``interval`` the
    duration, ``after`` the upstream pipeline ids.
    """

    kind: ScheduleKind
    value: str | None = None
    interval: timedelta | None = None
    after: tuple[str, ...] = ()


def _fail(message: str, value: Any, field: str) -> ValidationError:
    problem = f"{message} (got {value!r})"
    return ValidationError(f"{field}: {problem}", field=field, errors=[{"field": field, "message": problem}])


def parse_schedule(value: str | None, *, field: str = "schedule", pipeline_id: str | None = None) -> Schedule:
    """``value`` as a :class:`Schedule`; :class:`ValidationError` naming ``field`` when it is none of
    the forms in this module's docstring (``pipeline_id``: refuse ``after`` itself)."""
    if value is None:
        return Schedule("none")
    if not isinstance(value, str):
        raise _fail("must be a string", value, field)
    text = value.strip()
    if text.lower() in NONE_WORDS:
        return Schedule("none")
    if text.startswith("@"):
        if text.lower() not in PRESETS:
            raise _fail(f"unknown preset; use one of {', '.join(sorted(PRESETS))}", value, field)
        return Schedule("preset", value=text.lower())
    after = _AFTER.match(text)
    if after:
        ids = tuple(dict.fromkeys(part.strip() for part in re.split(r"[,\s]+", after["ids"]) if part.strip()))
        bad = [i for i in ids if not _PIPELINE_ID.match(i) or len(i) > 255]
        if not ids or bad:
            raise _fail(f"'after:' needs pipeline ids separated by commas, not {bad or 'nothing'}", value, field)
        if pipeline_id is not None and pipeline_id in ids:
            raise _fail(f"a pipeline cannot run after itself ({pipeline_id!r})", value, field)
        return Schedule("after", after=ids)
    if text[:1] in ("P", "p"):
        return Schedule("duration", interval=parse_duration(text.upper(), field=field, original=value))
    return Schedule("cron", value=_check_cron(text, field=field, original=value))


def parse_duration(text: str, *, field: str, original: Any = None) -> timedelta:
    """An ISO 8601 duration of weeks, days, hours, minutes and seconds as a positive ``timedelta``."""
    shown = original if original is not None else text
    match = _DURATION.match(text)
    if not match:
        if _CALENDAR_DURATION.match(text):
            raise _fail("a duration in months or years is not a fixed interval: use a cron expression", shown, field)
        raise _fail(
            "not a schedule: expected none/manual, a preset (@daily), a cron expression (5 fields), "
            "an ISO 8601 duration (PT6H, P1D) or after:<pipeline_id>",
            shown,
            field,
        )
    parts = {k: float(v) for k, v in match.groupdict().items() if v is not None}
    interval = timedelta(**parts)
    if interval <= timedelta(0):
        raise _fail("the duration must be positive", shown, field)
    return interval


def _check_cron(text: str, *, field: str, original: Any) -> str:
    fields = text.split()
    if len(fields) != 5:
        raise _fail(
            f"not a schedule: a cron expression has 5 fields (minute hour day month weekday), this has "
            f"{len(fields)}; other forms: none/manual, a preset (@daily), an ISO 8601 duration (PT6H), "
            "after:<pipeline_id>",
            original,
            field,
        )
    for part, (name, low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        problem = _cron_field_problem(part.upper(), name, low, high, names)
        if problem:
            raise _fail(f"cron {name} field {part!r}: {problem}", original, field)
    return " ".join(fields)


def _cron_field_problem(part: str, name: str, low: int, high: int, names: Mapping[str, int]) -> str | None:
    for item in part.split(","):
        if not item:
            return "empty list item"
        if name == "day of month" and item == "L":
            continue
        if name == "day of week" and "#" in item:
            day, _, nth = item.partition("#")
            if _cron_number(day, low, high, names) is None or nth not in {"1", "2", "3", "4", "5"}:
                return f"{item!r} is not weekday#n (n from 1 to 5)"
            continue
        base, slash, step = item.partition("/")
        if slash and (not step.isdigit() or int(step) == 0):
            return f"step {step!r} must be a positive number"
        if base == "*":
            continue
        first, dash, last = base.partition("-")
        start = _cron_number(first, low, high, names)
        if start is None:
            return f"{first!r} is not a number from {low} to {high}" + (" or a name" if names else "")
        if dash:
            end = _cron_number(last, low, high, names)
            if end is None:
                return f"{last!r} is not a number from {low} to {high}" + (" or a name" if names else "")
            if end < start:
                return f"range {base!r} goes backwards"
    return None


def _cron_number(text: str, low: int, high: int, names: Mapping[str, int]) -> int | None:
    if text in names:
        return names[text]
    if text.isdigit() and low <= int(text) <= high:
        return int(text)
    return None


# -- the ``dag`` settings of a pipeline -------------------------------------------------------------
#: the keys a pipeline's ``dag`` map may hold, with what each must be
DAG_SETTINGS = {
    "retries": "a whole number >= 0",
    "retry_delay": "an ISO 8601 duration (PT5M) or a number of seconds",
    "start_date": "a date or UTC datetime in ISO 8601 (2026-01-01)",
    "catchup": "true or false",
    "max_active_runs": "a whole number >= 1",
    "dagrun_timeout": "an ISO 8601 duration (PT2H) or a number of seconds",
    "execution_timeout": "an ISO 8601 duration (PT2H) or a number of seconds",
}


@dataclass(frozen=True)
class DagSettings:
    """A pipeline's ``dag`` map, checked: what its generated DAG takes from it (None: the default)."""

    retries: int | None = None
    retry_delay: timedelta | None = None
    start_date: datetime | None = None
    catchup: bool | None = None
    max_active_runs: int | None = None
    dagrun_timeout: timedelta | None = None
    execution_timeout: timedelta | None = None


def parse_dag_settings(value: Mapping[str, Any] | None, *, field: str = "dag") -> DagSettings:
    """The ``dag`` map of a pipeline as :class:`DagSettings`; ValidationError naming ``dag.<key>``."""
    if value is None:
        return DagSettings()
    if not isinstance(value, Mapping):
        raise _fail("must be a map of DAG settings", value, field)
    unknown = sorted(set(value) - set(DAG_SETTINGS))
    if unknown:
        raise _fail(f"unknown key(s) {unknown}; known: {', '.join(DAG_SETTINGS)}", dict(value), field)
    found: dict[str, Any] = {}
    for key, raw in value.items():
        where = f"{field}.{key}"
        if raw is None:
            continue
        if key in ("retries", "max_active_runs"):
            minimum = 0 if key == "retries" else 1
            if isinstance(raw, bool) or not isinstance(raw, int | float) or int(raw) != raw or raw < minimum:
                raise _fail(f"must be {DAG_SETTINGS[key]}", raw, where)
            found[key] = int(raw)
        elif key == "catchup":
            if not isinstance(raw, bool):
                raise _fail("must be true or false", raw, where)
            found[key] = raw
        elif key == "start_date":
            found[key] = _parse_start(raw, where)
        else:
            found[key] = _parse_seconds_or_duration(raw, where)
    return DagSettings(**found)


def _parse_seconds_or_duration(raw: Any, where: str) -> timedelta:
    if isinstance(raw, bool):
        raise _fail("must be an ISO 8601 duration or a number of seconds", raw, where)
    if isinstance(raw, int | float):
        if raw <= 0:
            raise _fail("must be positive", raw, where)
        return timedelta(seconds=float(raw))
    if isinstance(raw, str):
        return parse_duration(raw.strip().upper(), field=where, original=raw)
    raise _fail("must be an ISO 8601 duration or a number of seconds", raw, where)


def _parse_start(raw: Any, where: str) -> datetime:
    from datetime import UTC

    if isinstance(raw, datetime):
        parsed = raw
    elif isinstance(raw, date):
        parsed = datetime(raw.year, raw.month, raw.day)
    elif isinstance(raw, str):
        try:
            parsed = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        except ValueError:
            raise _fail(f"must be {DAG_SETTINGS['start_date']}", raw, where) from None
    else:
        raise _fail(f"must be {DAG_SETTINGS['start_date']}", raw, where)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


__all__ = [
    "DAG_SETTINGS",
    "PRESETS",
    "DagSettings",
    "Schedule",
    "parse_dag_settings",
    "parse_duration",
    "parse_schedule",
]
