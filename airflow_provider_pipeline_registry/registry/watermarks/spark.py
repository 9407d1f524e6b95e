"""The high bound of a DataFrame's watermark column, in one aggregate.

Duck-typed: pyspark is never imported (the core stays free of it); ``df`` is a
``pyspark.sql.DataFrame`` (classic or Spark Connect). A timestamp column is aggregated as
microseconds since the epoch (``unix_micros(max(col))``), so the result does not depend on the
session's or the Python process's timezone (collecting a Spark timestamp gives a naive local
datetime); integers and strings as ``max(col)``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ..errors import RegistryValidationError
from .values import WatermarkType, normalize_watermark

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _quoted(column: str) -> str:
    if not isinstance(column, str) or not column.strip():
        raise RegistryValidationError(
            f"watermark column must be a column name, got {column!r}", field="watermark_column"
        )
    return "`" + column.replace("`", "``") + "`"


def high_watermark(
    df: Any, column: str, watermark_type: WatermarkType | str = WatermarkType.STRING, *, table_id: str = "?"
) -> str | None:
    """``max(column)`` of ``df`` as a canonical watermark text of ``watermark_type`` (None: no rows,
    or only nulls). One Spark job (one aggregate)."""
    kind = WatermarkType(watermark_type)
    name = _quoted(column)
    expression = f"unix_micros(max({name}))" if kind is WatermarkType.TIMESTAMP else f"max({name})"
    row = df.selectExpr(f"{expression} AS high").first()
    high = None if row is None else row[0]
    if high is None:
        return None
    if kind is WatermarkType.TIMESTAMP:
        return normalize_watermark(_EPOCH + timedelta(microseconds=int(high)), kind, table_id=table_id)
    if kind is WatermarkType.INTEGER:
        if isinstance(high, float) or (hasattr(high, "to_integral_value") and high != high.to_integral_value()):
            raise RegistryValidationError(
                f"watermark column {column!r} of table {table_id!r} is declared integer but holds {high!r}",
                field="watermark_column",
            )
        return normalize_watermark(int(high), kind, table_id=table_id)
    return normalize_watermark(str(high), kind, table_id=table_id)
