"""A Spark job's error as a driver records it: ~35 KB, the exception named only in its last line."""

from __future__ import annotations

#: the line that names what went wrong: the last one
LAST_LINE = (
    "pyspark.errors.exceptions.captured.AnalysisException: [TABLE_OR_VIEW_NOT_FOUND] "
    "The table or view `sales`.`orders_é` cannot be found. SQLSTATE: 42P01"
)
FIRST_LINE = "An error occurred while calling o123.saveAsTable."


def spark_traceback(size: int = 35_000) -> str:
    """``FIRST_LINE``, JVM frames (multi-byte characters among them) up to ``size`` bytes, ``LAST_LINE``."""
    lines = [FIRST_LINE, ": org.apache.spark.sql.AnalysisException: [TABLE_OR_VIEW_NOT_FOUND]"]
    i = 0
    while sum(len(line.encode()) + 1 for line in lines) < size:
        lines.append(f"\tat org.apache.spark.sql.execution.Stage{i}.run(Stage{i}.scala:{i}) — données→✓")
        i += 1
    lines.append(LAST_LINE)
    return "\n".join(lines)
