"""Incremental loads: each table's committed watermark, moved only with a run's SUCCESS end.

See the README, "Incremental loads". The committed value and its history live in the
``table_watermarks`` table (:mod:`.models`); what a run read and staged lives on the run item.
Names are loaded lazily (``table_config.models`` imports :mod:`.values` without the store).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "RewindPosition": "models",
    "WatermarkEntry": "models",
    "WatermarkMove": "models",
    "WatermarkRecord": "models",
    "WatermarkState": "models",
    "WatermarkStore": "store",
    "WatermarkType": "values",
    "high_watermark": "spark",
    "is_backwards": "values",
    "normalize_watermark": "values",
}

__all__ = [
    "RewindPosition",
    "WatermarkEntry",
    "WatermarkMove",
    "WatermarkRecord",
    "WatermarkState",
    "WatermarkStore",
    "WatermarkType",
    "high_watermark",
    "is_backwards",
    "normalize_watermark",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from .models import RewindPosition, WatermarkEntry, WatermarkMove, WatermarkRecord, WatermarkState
    from .spark import high_watermark
    from .store import WatermarkStore
    from .values import WatermarkType, is_backwards, normalize_watermark
