"""Names of a table's data for lineage: the Airflow asset URI and the OpenLineage namespace/name.

Both are derived here, from the table's ``location`` (and its ``table_id`` when it has none), so
that an asset event and an OpenLineage dataset always name the same data the same way. Pure
functions: no Airflow, no boto3.

Rules (location -> asset URI; OpenLineage namespace + name), the README has the full table:

* ``s3://lake/curated/t/`` (also ``s3a://``, ``s3n://``) -> ``s3://lake/curated/t``; ``s3://lake`` + ``curated/t``
* ``gs://bucket/path`` (also ``gcs://``) -> ``gs://bucket/path``; ``gs://bucket`` + ``path``
* ``abfss://box@acct.dfs.core.windows.net/p`` -> the same; ``abfss://box@acct.dfs.core.windows.net`` + ``p``
  (``wasbs://box@acct.blob.core.windows.net/p`` alike)
* ``hdfs://namenode:8020/w/t`` -> the same; ``hdfs://namenode:8020`` + ``/w/t``
* ``/data/t`` or ``file:///data/t`` -> ``file:///data/t``; ``file`` + ``/data/t``
  (``file://host/data/t``: ``file://host`` + ``/data/t``)
* any other ``scheme://authority/path`` -> the same; ``scheme://authority`` + ``/path``
* no location, an empty one, or a relative path -> ``pipeline-registry://table/<table_id, percent-encoded>``;
  ``pipeline-registry`` + ``<table_id>``

Common to every rule: the scheme and host are lower-cased, trailing slashes, the query and the
fragment are dropped, a password in the authority is dropped (never put in a name), and the
table's partition columns do not change anything (the location is the table's root, the name of
all its partitions). A relative path names no place on its own (it depends on the working
directory of whoever reads it), so it gets the registry URI like a table without location.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

#: scheme of the URI of a table that has no usable location
REGISTRY_SCHEME = "pipeline-registry"
#: prefix of the asset alias a pipeline's end operator emits through
ALIAS_PREFIX = "pipeline-registry:"

#: scheme aliases folded into one canonical scheme (Hadoop's S3 connectors, gcs)
_SCHEME_ALIASES = {"s3a": "s3", "s3n": "s3", "gcs": "gs"}
#: object stores: the name is the object key, without a leading slash
_OBJECT_STORES = frozenset({"s3", "gs", "abfss", "abfs", "wasbs", "wasb"})
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/](?![\\/])")


@dataclass(frozen=True)
class LineageName:
    """How a table's data is named: the Airflow asset URI and the OpenLineage namespace/name."""

    #: the Airflow asset URI (what ``Asset(uri)`` and a consumer's ``schedule=[Asset(...)]`` use)
    uri: str
    #: OpenLineage dataset namespace (``scheme://authority``, ``file`` or ``pipeline-registry``)
    namespace: str
    #: OpenLineage dataset name (path or object key; the table id for the registry fallback)
    name: str

    @property
    def is_registry_fallback(self) -> bool:
        """True when the table had no usable location (the name is its table id)."""
        return self.namespace == REGISTRY_SCHEME


def registry_name(table_id: str) -> LineageName:
    """The name of a table that has no usable location: ``pipeline-registry://table/<table_id>``."""
    return LineageName(
        uri=f"{REGISTRY_SCHEME}://table/{quote(table_id, safe='')}", namespace=REGISTRY_SCHEME, name=table_id
    )


def _authority(netloc: str) -> str:
    """``netloc`` without a password (``user:secret@host`` -> ``user@host``), host lower-cased."""
    userinfo, at, hostport = netloc.rpartition("@")
    if at and ":" in userinfo:
        userinfo = userinfo.split(":", 1)[0]
    hostport = hostport.lower()
    return f"{userinfo}@{hostport}" if at and userinfo else hostport


def _clean_path(path: str) -> str:
    """``path`` with repeated and trailing slashes removed (``/`` stays ``/``)."""
    parts = [p for p in path.split("/") if p]
    return "/" + "/".join(parts) if parts else "/"


def lineage_name(location: str | None, *, table_id: str) -> LineageName:
    """The asset URI and OpenLineage namespace/name of a table at ``location`` (rules: module doc)."""
    text = (location or "").strip()
    if not text:
        return registry_name(table_id)
    if text.startswith("/"):
        path = _clean_path(text)
        return LineageName(uri=f"file://{path}", namespace="file", name=path)
    if _WINDOWS_DRIVE.match(text):  # C:\data\t or C:/data/t
        path = _clean_path("/" + text.replace("\\", "/"))
        return LineageName(uri=f"file://{path}", namespace="file", name=path)
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if not scheme or "://" not in text:  # a relative path (or scheme:opaque, which names no place)
        return registry_name(table_id)
    scheme = _SCHEME_ALIASES.get(scheme, scheme)
    authority = _authority(parts.netloc)
    path = _clean_path(parts.path)
    if scheme == "file":
        namespace = f"file://{authority}" if authority and authority != "localhost" else "file"
        uri_authority = authority if namespace != "file" else ""
        return LineageName(uri=f"file://{uri_authority}{path}", namespace=namespace, name=path)
    namespace = f"{scheme}://{authority}"
    name = (path.lstrip("/") or "/") if scheme in _OBJECT_STORES else path
    return LineageName(uri=f"{namespace}{path}", namespace=namespace, name=name)


def _field(table: Any, name: str) -> Any:
    if isinstance(table, Mapping):
        return table.get(name)
    return getattr(table, name, None)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))


def table_lineage_name(table: Any) -> LineageName:
    """:func:`lineage_name` of a table config (a model, a view, or a mapping such as a seed entry)."""
    table_id = _text(_field(table, "table_id"))
    if not table_id:
        from .errors import ValidationError

        raise ValidationError("a table needs a table_id to be named for lineage", field="table_id")
    return lineage_name(_text(_field(table, "location")), table_id=table_id)


def table_role(table: Any) -> str:
    """The table's role (``source`` or ``target``; ``source`` when not given, as the model's default)."""
    return (_text(_field(table, "role")) or "source").lower()


def table_is_active(table: Any) -> bool:
    """The table's active flag (True when not given, as the model's default)."""
    value = _field(table, "is_active")
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "no")
    return True if value is None else bool(value)


def asset_alias_name(pipeline_id: str) -> str:
    """Name of the asset alias a pipeline's end operator emits through: ``pipeline-registry:<id>``."""
    return f"{ALIAS_PREFIX}{pipeline_id}"
