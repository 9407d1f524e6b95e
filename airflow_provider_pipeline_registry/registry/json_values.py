"""Registry values as plain JSON: what XCom, the UI's JSON API and the CLI's ``--json`` carry.

Pure Python (no boto3): the Airflow modules import it at DAG-parse time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from .timezones import format_utc


def to_json_value(value: Any) -> Any:
    """``value`` as plain JSON: datetimes as UTC storage strings, enums as values, Decimals as numbers."""
    if isinstance(value, datetime):
        return format_utc(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_json_value(v) for v in value]
    return value
