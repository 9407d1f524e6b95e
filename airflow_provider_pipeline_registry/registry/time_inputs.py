"""The one grammar of user-given times and durations (CLI options, UI/API query parameters, the
sensor's and the trigger's ``since``/``until``, ``stale_after``).

A **time** is one of:

* an aware ``datetime``, or ISO-8601 text with an offset or ``Z`` (``2026-03-08T14:00:00+01:00``);
* a naive ``datetime``, naive ISO-8601 text or a date (``2026-03-08T14:00``, ``2026-03-08``): a wall
  time read in the user's timezone (a time that daylight saving skips or repeats there is refused);
* ``now``, or ``today`` (midnight of the current day in the user's timezone);
* an age, meaning that long before now: a number and a unit ``s``, ``m``, ``h``, ``d``, ``w``
  (``45s``, ``30m``, ``1.5h``, ``3d``, ``1w``), or several (``1h30m``); case-insensitive.

A **duration** is a ``timedelta``, a number of seconds (``90``, ``"90"``), or the same
number-and-unit text (``15m``, ``1h30m``).

Times come back aware, in UTC. Every problem raises :class:`TimeInputError` (a
:class:`~.errors.ValidationError`) naming the field, the value and what is wrong with it.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from .errors import RegistryValidationError
from .timezones import format_utc, localize, to_utc, utc_now

__all__ = [
    "DURATION_HINT",
    "TIME_HINT",
    "TimeInputError",
    "duration_input",
    "is_relative_time",
    "time_input",
    "time_input_text",
]

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = r"(\d+(?:\.\d+)?)\s*([smhdw])"
_DURATION = re.compile(rf"^(?:{_PART}\s*)+$", re.IGNORECASE)
_PARTS = re.compile(_PART, re.IGNORECASE)
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
_KEYWORDS = ("now", "today")

TIME_HINT = (
    "an ISO-8601 datetime (2026-03-08T14:00:00+01:00, ...Z; a naive one or a date is read in the "
    "user's timezone), now, today, or an age (45s, 30m, 2h, 3d, 1w, 1h30m)"
)
DURATION_HINT = "a timedelta, seconds (90) or a number with a unit (45s, 30m, 2h, 3d, 1w, 1h30m)"


class TimeInputError(RegistryValidationError):
    """A user-given time or duration that cannot be read: ``field``, ``value`` and ``problem`` say which
    and why."""

    def __init__(self, field: str, value: Any, problem: str) -> None:
        self.value = value
        self.problem = problem
        super().__init__(f"{field}: {value!r} {problem}", field=field)


def _age(text: str) -> timedelta | None:
    """``text`` as a number-and-unit duration, or None when it is not one."""
    if not _DURATION.match(text):
        return None
    seconds = sum(float(amount) * _UNIT_SECONDS[unit.lower()] for amount, unit in _PARTS.findall(text))
    return timedelta(seconds=seconds)


def is_relative_time(value: Any) -> bool:
    """Whether ``value`` is a time counted from now (``now``, ``today`` or an age)."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    return text.lower() in _KEYWORDS or _age(text) is not None


def _localized(value: datetime, tz: tzinfo | None, field: str, original: Any) -> datetime:
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        if tz is None:
            raise TimeInputError(field, original, "has no timezone here: give an offset or Z")
        try:
            value = localize(value, tz, field=field)
        except RegistryValidationError as exc:  # "<field>: <wall time> does not exist in ...": keep the problem
            parts = str(exc).split(" ", 2)
            problem = parts[2] if len(parts) == 3 and parts[0] == f"{field}:" else str(exc)
            raise TimeInputError(field, original, problem) from None
    try:
        return to_utc(value, field=field)
    except RegistryValidationError:
        raise TimeInputError(field, original, "has no UTC equivalent in range") from None


def time_input(
    value: datetime | date | str | None, *, field: str, tz: tzinfo | None, now: datetime | None = None
) -> datetime | None:
    """``value`` (see the module's grammar) as an aware UTC datetime; None or blank text is None.

    ``tz`` reads naive times and ``today``; None refuses them (a context without a user timezone).
    ``now`` is the moment ages count back from (default: the current time).
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return _localized(value, tz, field, value)
    if isinstance(value, date):
        return _localized(datetime.combine(value, time()), tz, field, value)
    if not isinstance(value, str):
        raise TimeInputError(field, value, f"is not a time: expected {TIME_HINT}")
    text = value.strip()
    current = to_utc(now, field="now") if now is not None else utc_now()
    keyword = text.lower()
    if keyword == "now":
        return current
    if keyword == "today":
        if tz is None:
            raise TimeInputError(field, value, "needs a timezone here: give an ISO-8601 time with an offset")
        # the day's first midnight; zoneinfo gives a wall time that DST skips the offset before it
        return datetime.combine(current.astimezone(tz).date(), time(), tzinfo=tz).astimezone(UTC)
    age = _age(text)
    if age is not None:
        try:
            return current - age
        except OverflowError:
            raise TimeInputError(field, value, "reaches before the year 1") from None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise TimeInputError(field, value, f"is not a time: expected {TIME_HINT}") from None
    return _localized(parsed, tz, field, value)


def time_input_text(value: datetime | date | str | None, *, field: str, tz: tzinfo | None) -> str | None:
    """``value`` checked and made serializable (for a trigger): a relative time stays as its text
    (resolved at each look), anything else becomes the UTC storage text; None stays None."""
    if is_relative_time(value):
        assert isinstance(value, str)
        return value.strip().lower()
    resolved = time_input(value, field=field, tz=tz)
    return None if resolved is None else format_utc(resolved)


def duration_input(value: timedelta | float | str | None, *, field: str) -> timedelta | None:
    """``value`` (a timedelta, seconds, or number-and-unit text) as a timedelta; None or blank is None.

    Negative durations are refused; callers that need a positive one check for zero.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise TimeInputError(field, value, f"is not a duration: expected {DURATION_HINT}")
    if isinstance(value, timedelta):
        delta = value
    elif isinstance(value, int | float):
        try:
            delta = timedelta(seconds=value)
        except (OverflowError, ValueError):
            raise TimeInputError(field, value, "is out of range") from None
    elif isinstance(value, str):
        text = value.strip()
        age = _age(text)
        if age is not None:
            delta = age
        elif _NUMBER.match(text):
            delta = timedelta(seconds=float(text))
        else:
            raise TimeInputError(field, value, f"is not a duration: expected {DURATION_HINT}")
    else:
        raise TimeInputError(field, value, f"is not a duration: expected {DURATION_HINT}")
    if delta < timedelta(0):
        raise TimeInputError(field, value, "is negative")
    return delta
