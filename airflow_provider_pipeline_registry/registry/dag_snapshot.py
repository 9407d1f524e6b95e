"""The DAG snapshot: what generated DAGs are built from, so that parsing a DAG file reads no DynamoDB.

``pipeline-registry dags snapshot -o FILE`` (or the maintenance DAG of
``registry_dags(..., refresh=...)``) reads the active pipelines and their active tables once and
writes one JSON file; the DAG file reads only that file. Format (``format: 1``)::

    {"format": 1, "written_at": "2026-...Z", "source": {"tables": {...}},
     "pipelines": [{"pipeline_id": ..., "name": ..., "description": ..., "owner": ...,
                    "schedule": ..., "tags": [...], "dag": {...}, "spark_application": ...,
                    "version": 3, "created_at": ..., "updated_at": ...,
                    "targets": ["s3://lake/curated/x", ...]}]}

Values are shown the way the registry shows them (``redaction``): the file sits in a DAG folder
that many can read, and the Spark task reads the real values from the registry when it runs.
``targets`` are the asset URIs of the pipeline's active target tables (``lineage_names``), which
``EndPipelineRunOperator`` emits on SUCCESS: an ``after:<id>`` schedule is built from them.

The file is replaced atomically (written beside, then ``os.replace``), so a parser never reads a
half-written snapshot. Imports neither Airflow nor boto3 (the writer gets a ``Registry``).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ValidationError
from .lineage_names import table_lineage_name
from .redaction import redact_mapping, redact_text

if TYPE_CHECKING:
    from .facade import Registry

SNAPSHOT_FORMAT = 1
#: the pipeline fields a snapshot keeps (plus ``targets``)
SNAPSHOT_FIELDS = (
    "pipeline_id",
    "name",
    "description",
    "owner",
    "schedule",
    "tags",
    "dag",
    "spark_application",
    "version",
    "created_at",
    "updated_at",
)


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def build_snapshot(registry: Registry, *, now: datetime | None = None) -> dict[str, Any]:
    """The snapshot of ``registry``: its active pipelines (by id) with their active target tables.

    Two reads whatever the number of pipelines: a query of the active-pipelines index, a scan of
    the table configs.
    """
    pipelines = sorted(registry.pipelines.iter_active(tz=UTC), key=lambda p: p.pipeline_id)
    targets: dict[str, list[str]] = {}
    for table in registry.tables.iter_all(tz=UTC):
        if table.is_active and str(getattr(table.role, "value", table.role)).lower() == "target":
            uri = table_lineage_name(table).uri
            uris = targets.setdefault(table.pipeline_id, [])
            if uri not in uris:
                uris.append(uri)
    entries = []
    for pipeline in pipelines:
        entry = {name: _iso(getattr(pipeline, name, None)) for name in SNAPSHOT_FIELDS}
        entry["spark_application"] = redact_text(entry["spark_application"]) if entry["spark_application"] else None
        entry["dag"] = redact_mapping(dict(entry["dag"] or {}))
        entry["tags"] = list(entry["tags"] or [])
        entry["targets"] = sorted(targets.get(pipeline.pipeline_id, []))
        entries.append(entry)
    return {
        "format": SNAPSHOT_FORMAT,
        "written_at": _iso(now or datetime.now(UTC)),
        "source": {"tables": registry.config.describe().get("tables", {})},
        "pipelines": entries,
    }


def write_snapshot(path: str | Path, snapshot: Mapping[str, Any]) -> bool:
    """Write ``snapshot`` to ``path`` atomically; False (nothing written) when the file already holds
    the same pipelines (so an unchanged registry does not touch the file)."""
    target = Path(path)
    try:
        current = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        current = None
    if isinstance(current, dict) and current.get("pipelines") == snapshot.get("pipelines"):
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(snapshot, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def read_snapshot(path: str | Path) -> dict[str, Any]:
    """The snapshot at ``path``; ValidationError naming the file when it is not one."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValidationError(f"{path}: not a DAG snapshot (invalid JSON: {exc})", field="snapshot") from None
    if not isinstance(document, dict) or document.get("format") != SNAPSHOT_FORMAT:
        raise ValidationError(
            f"{path}: not a DAG snapshot of format {SNAPSHOT_FORMAT} (write it with `pipeline-registry dags snapshot`)",
            field="snapshot",
        )
    if not isinstance(document.get("pipelines"), list):
        raise ValidationError(f"{path}: the snapshot has no 'pipelines' list", field="snapshot")
    return document


__all__ = ["SNAPSHOT_FORMAT", "build_snapshot", "read_snapshot", "write_snapshot"]
