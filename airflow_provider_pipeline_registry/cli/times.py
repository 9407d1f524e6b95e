"""Parsing of time options: ISO-8601 datetimes (naive ones read in the user's timezone) or
relative ages such as ``30m``, ``2h``, ``3d``, ``1w`` (meaning that long ago)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo

from ..registry.errors import RegistryValidationError
from ..registry.timezones import localize, to_utc, utc_now

_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_time(text: str, tz: tzinfo, *, field: str, now: datetime | None = None) -> datetime:
    """``text`` as an aware UTC datetime; raises RegistryValidationError naming ``field`` when malformed."""
    match = _RELATIVE.match(text)
    if match:
        amount, unit = float(match.group(1)), _UNITS[match.group(2).lower()]
        return (now or utc_now()) - timedelta(**{unit: amount})
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise RegistryValidationError(
            f"{field}: {text!r} is neither an ISO-8601 datetime (2026-03-08T14:00, 2026-03-08T14:00:00+01:00) "
            "nor a relative age (30m, 2h, 3d, 1w)",
            field=field,
        ) from None
    return to_utc(localize(parsed, tz, field=field), field=field)
