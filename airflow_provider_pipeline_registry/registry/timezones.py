"""Timezone rules: store and compute in UTC, show in the user's timezone.

* :func:`format_utc` / :func:`parse_utc` are the storage format: fixed width, microseconds,
  ``Z`` suffix, so that string order is time order in a sort key.
* :func:`localize` reads a naive datetime in the user's timezone and refuses DST gaps and
  ambiguous wall times (``fold=1`` picks the second occurrence).
* :func:`format_for_display` renders ``2026-03-08 01:59:30 EST (06:59:30 UTC)`` for logs.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigurationError, RegistryValidationError

STORAGE_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
USER_TIMEZONE_ENV = "DYNAMODB_USER_TIMEZONE"
#: bounds for a BETWEEN on stored timestamps
MIN_DATETIME_TEXT = "0001-01-01T00:00:00.000000Z"
MAX_DATETIME_TEXT = "9999-12-31T23:59:59.999999Z"


@lru_cache(maxsize=64)
def get_timezone(name: str) -> tzinfo:
    """Return the IANA zone ``name`` (``UTC`` is always available), or raise ConfigurationError."""
    if not isinstance(name, str) or not name.strip():
        raise ConfigurationError(f"user_timezone must be a non-empty IANA name, got {name!r}")
    if name.strip().upper() in {"UTC", "Z", "ETC/UTC"}:
        return UTC
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigurationError(
            f"unknown timezone {name!r}: use an IANA name such as 'Europe/Paris' or 'America/New_York'"
        ) from exc


def resolve_user_timezone(*candidates: str | tzinfo | None) -> tzinfo:
    """First non-empty candidate wins, then ``DYNAMODB_USER_TIMEZONE``, then UTC.

    Pass candidates in precedence order: explicit argument, operator argument, connection extra.
    """
    for candidate in (*candidates, os.environ.get(USER_TIMEZONE_ENV)):
        if candidate is None or candidate == "":
            continue
        if isinstance(candidate, tzinfo):
            return candidate
        return get_timezone(candidate)
    return UTC


def timezone_name(tz: tzinfo) -> str:
    """The IANA key of ``tz`` when it has one (``UTC`` for the UTC singleton)."""
    if tz is UTC:
        return "UTC"
    return str(getattr(tz, "key", None) or tz)


def ensure_timezone_aware(value: datetime, *, field: str = "datetime") -> datetime:
    """Return ``value`` unchanged if it carries a timezone; raise RegistryValidationError if it is naive."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise RegistryValidationError(f"{field} must be timezone-aware, got naive {value.isoformat()}", field=field)
    return value


#: written datetimes keep a day's margin from the ends of the calendar, so that every timezone
#: (offsets are under 24 h) can show them: ``astimezone`` overflows beyond year 1 or 9999
MIN_STORABLE = datetime(1, 1, 2, tzinfo=UTC)
MAX_STORABLE = datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC)


def to_utc(value: datetime, *, field: str = "datetime") -> datetime:
    """Convert an aware datetime to UTC; a naive one is refused (the gateway stores UTC only)."""
    try:
        return ensure_timezone_aware(value, field=field).astimezone(UTC)
    except OverflowError:
        raise RegistryValidationError(
            f"{field}: {value.isoformat()} has no UTC equivalent in range", field=field
        ) from None


def check_storable(value: datetime, *, field: str = "datetime") -> datetime:
    """``value`` in UTC, refused unless aware and between 0001-01-02 and 9999-12-30 UTC (so that
    it can be shown in every timezone)."""
    utc = to_utc(value, field=field)
    if not MIN_STORABLE <= utc <= MAX_STORABLE:
        raise RegistryValidationError(
            f"{field}: {value.isoformat()} is outside the storable range (0001-01-02 to 9999-12-30 UTC)",
            field=field,
        )
    return utc


def to_user_timezone(value: datetime, tz: str | tzinfo | None = None) -> datetime:
    """Convert an aware datetime to ``tz`` (resolved by :func:`resolve_user_timezone`)."""
    return ensure_timezone_aware(value).astimezone(resolve_user_timezone(tz))


def localize(value: datetime, tz: tzinfo, *, field: str = "datetime") -> datetime:
    """Attach ``tz`` to a naive wall time, refusing times that DST makes ambiguous or impossible.

    An aware datetime is returned unchanged. ``fold=1`` selects the later of two ambiguous times.
    """
    if value.tzinfo is not None and value.tzinfo.utcoffset(value) is not None:
        return value
    candidate = value.replace(tzinfo=tz)
    check_storable(candidate, field=field)  # wall times at the ends of the calendar overflow below
    round_trip = candidate.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if round_trip != value.replace(fold=0):
        raise RegistryValidationError(
            f"{field}: {value.isoformat()} does not exist in {timezone_name(tz)} "
            "(it falls in a daylight-saving gap); give an aware datetime instead",
            field=field,
        )
    earlier = value.replace(fold=0, tzinfo=tz).utcoffset()
    later = value.replace(fold=1, tzinfo=tz).utcoffset()
    if earlier != later and value.fold == 0:
        raise RegistryValidationError(
            f"{field}: {value.isoformat()} is ambiguous in {timezone_name(tz)} "
            "(daylight-saving fold); set fold=1 for the second occurrence or give an aware datetime",
            field=field,
        )
    return candidate


def format_utc(value: datetime, *, field: str = "datetime") -> str:
    """Storage format: ``2026-11-25T02:19:04.123456Z`` (always UTC, always microseconds).

    Built from ``isoformat`` rather than ``strftime``: glibc's ``%Y`` does not zero-pad years
    before 1000, which would break the fixed width (and so the sort order).
    """
    if value.tzinfo is UTC:  # fast path (every validated model datetime): same text as below
        return value.isoformat(timespec="microseconds")[:-6] + "Z"  # drops the "+00:00"
    return to_utc(value, field=field).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_utc(value: str, *, field: str = "datetime") -> datetime:
    """Parse a stored (or any ISO-8601 aware) timestamp into an aware UTC datetime."""
    try:
        if len(value) == 27 and value.endswith("Z"):
            return datetime.strptime(value, STORAGE_FORMAT).replace(tzinfo=UTC)
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise RegistryValidationError(f"{field}: {value!r} is not an ISO-8601 timestamp", field=field) from exc
    return to_utc(parsed, field=field)


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def format_for_display(value: datetime | None, tz: str | tzinfo | None = None) -> str:
    """``2026-03-08 01:59:30 EST (06:59:30 UTC)``; the UTC part carries its date if it differs."""
    if value is None:
        return "-"
    zone = resolve_user_timezone(tz)
    utc_value = to_utc(value)
    local = utc_value.astimezone(zone)
    local_text = local.strftime("%Y-%m-%d %H:%M:%S %Z")
    if zone is UTC or (local.utcoffset() == timedelta(0) and timezone_name(zone) == "UTC"):
        return local_text
    utc_text = utc_value.strftime("%H:%M:%S UTC")
    if utc_value.date() != local.date():
        utc_text = utc_value.strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{local_text} ({utc_text})"


def format_duration(seconds: float | None) -> str:
    """A duration as the CLI and the UI show it: ``2h03m04s``, ``3m05s``, ``4.2s``; ``-`` for None."""
    if seconds is None:
        return "-"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{seconds:.1f}s"
