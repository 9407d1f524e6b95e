"""Names of a table's data for lineage: the Airflow asset URI and the OpenLineage namespace/name.

Both are derived here, from the table's ``location`` (and its ``table_id`` when it has none), so
that an asset event and an OpenLineage dataset always name the same data the same way. Pure
functions: no Airflow, no boto3.

The OpenLineage namespace/name follow the reference implementation of the naming spec
(https://openlineage.io/docs/spec/naming), the Java client's
``io.openlineage.client.utils.filesystem.FilesystemDatasetUtils.fromLocation``, which Spark's
OpenLineage integration calls for every path it reads or writes (``PathUtils.fromURI``), so that
a table gets the same dataset name from this provider and from the Spark job that writes it.
Followed: OpenLineage/OpenLineage ``client/java/src/main/java/io/openlineage/client/utils/filesystem/``
(``ObjectStorageDatasetExtractor``, ``LocalFilesystemDatasetExtractor``,
``GenericFilesystemDatasetExtractor``, ``FilesystemUriSanitizer``) and the expected values of its
tests ``client/java/src/test/java/io/openlineage/client/utils/filesystem/FilesystemDatasetUtilsTestFor*.java``,
at commit 8f02abfb7a252783b95df79f443edb13959bf52c (2026-08-20).

Rules (location -> asset URI; OpenLineage namespace + name), the README has the full table:

* ``s3://lake/curated/t/`` (also ``s3a://``, ``s3n://``) -> ``s3://lake/curated/t``; ``s3://lake`` + ``curated/t``
* ``gs://bucket/path`` (also ``gcs://``) -> ``gs://bucket/path``; ``gs://bucket`` + ``path``
* ``abfss://box@acct.dfs.core.windows.net/p`` (also ``abfs://``) -> ``abfss://...``;
  ``abfss://box@acct.dfs.core.windows.net`` + ``p`` (``wasb://`` and ``wasbs://`` -> ``wasbs://`` alike:
  the Java client's canonical TLS schemes)
* ``hdfs://namenode:8020/w/t`` -> the same; ``hdfs://namenode:8020`` + ``/w/t``
* ``/data/t``, ``file:/data/t`` or ``file:///data/t`` -> ``file:///data/t``; ``file`` + ``/data/t``
  (``file://host/data/t``: the asset URI keeps the host, the dataset is ``file`` + ``/data/t``, as
  the Java client names it)
* ``dbfs:/mnt/t`` (or ``dbfs:///mnt/t``) -> ``dbfs:/mnt/t``; ``dbfs`` + ``/mnt/t`` (any scheme
  without an authority alike: ``hdfs:///w/t`` -> ``hdfs:/w/t``; ``hdfs`` + ``/w/t``)
* any other ``scheme://authority/path`` -> the same; ``scheme://authority`` + ``/path``
* no location, an empty one, or a relative path -> ``pipeline-registry://table/<table_id, percent-encoded>``;
  ``pipeline-registry`` + ``<table_id>``

Common to every rule: the scheme and host are lower-cased; repeated and trailing slashes, the
query and the fragment are dropped; the dataset name is the decoded path (``%20`` -> space, as
Java's ``URI.getPath()``). **The userinfo of the authority is never put in a name**:
``s3://AKIA...:secret@bucket/key`` is ``s3://bucket`` + ``key`` (the spec's S3 namespace is
``s3://{bucket}``; the Java client would keep the userinfo, we do not). The one exception is
Azure's ``abfss``/``wasbs``, whose ``{container}@`` sits where a user name would and is part of
the spec's namespace: the container stays, a ``:password`` after it is dropped. The table's
partition columns do not change anything (the location is the table's root, the name of all its
partitions). A relative path names no place on its own (it depends on the working directory of
whoever reads it; Spark qualifies it before naming it), so it gets the registry URI like a table
without location.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

#: scheme of the URI of a table that has no usable location
REGISTRY_SCHEME = "pipeline-registry"
#: prefix of the asset alias a pipeline's end operator emits through
ALIAS_PREFIX = "pipeline-registry:"

#: scheme aliases folded into one canonical scheme: Hadoop's S3 connectors and Azure's non-TLS
#: schemes as the Java client's ``ObjectStorageDatasetExtractor`` folds them (``s3``; ``abfss``,
#: ``wasbs``), and fsspec's ``gcs`` (Spark's GCS connector only knows ``gs``)
_SCHEME_ALIASES = {"s3a": "s3", "s3n": "s3", "gcs": "gs", "abfs": "abfss", "wasb": "wasbs"}
#: object stores: the name is the object key, without a leading slash (``ObjectStorageDatasetExtractor``)
_OBJECT_STORES = frozenset({"s3", "gs", "abfss", "wasbs"})
#: object stores whose authority is ``{container}@{account host}``: the container is kept
_CONTAINER_STORES = frozenset({"abfss", "wasbs"})
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


def _authority(netloc: str, scheme: str) -> str:
    """``netloc`` without its userinfo (``key:secret@bucket`` -> ``bucket``), host lower-cased.

    For ``abfss``/``wasbs`` the user part is the container and is kept, its password dropped
    (``box:secret@acct...`` -> ``box@acct...``).
    """
    userinfo, at, hostport = netloc.rpartition("@")
    hostport = hostport.lower()
    if at and scheme in _CONTAINER_STORES:
        container = userinfo.split(":", 1)[0]
        return f"{container}@{hostport}" if container else hostport
    return hostport


def _without_slashed_password(text: str) -> str:
    """``text`` whose userinfo password holds an unencoded ``/`` cut down to its user part.

    An AWS secret key often holds ``/``: in ``s3a://AKIA...:ab/cd@bucket/key`` a URL parser ends
    the authority at that ``/`` and would put half the secret in the namespace and the rest in the
    name. When the first segment after ``://`` is ``user:x`` with ``x`` not a port and an ``@``
    follows before any query or fragment, everything up to that ``@`` is the userinfo.
    """
    scheme, sep, rest = text.partition("://")
    first = rest.split("/", 1)[0]
    if not sep or "@" in first or ":" not in first or first.startswith("["):
        return text
    user, _, after = first.partition(":")
    if after.isdigit():  # host:port
        return text
    at = rest.find("@")
    stop = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    if not 0 <= at < stop:
        return text
    return f"{scheme}://{user}@{rest[at + 1 :]}"


def _clean_path(path: str) -> str:
    """``path`` with repeated and trailing slashes removed (``/`` stays ``/``)."""
    parts = [p for p in path.split("/") if p]
    return "/" + "/".join(parts) if parts else "/"


def _local_file(path: str, *, host: str = "") -> LineageName:
    """A local (or ``file://host``) path: ``file`` + the path (``LocalFilesystemDatasetExtractor``)."""
    clean = _clean_path(path)
    return LineageName(uri=f"file://{host}{clean}", namespace="file", name=unquote(clean))


def lineage_name(location: str | None, *, table_id: str) -> LineageName:
    """The asset URI and OpenLineage namespace/name of a table at ``location`` (rules: module doc)."""
    text = (location or "").strip()
    if not text:
        return registry_name(table_id)
    if text.startswith("/"):
        return _local_file(text)
    if _WINDOWS_DRIVE.match(text):  # C:\data\t or C:/data/t
        return _local_file("/" + text.replace("\\", "/"))
    text = _without_slashed_password(text)
    parts = urlsplit(text)
    scheme = _SCHEME_ALIASES.get(parts.scheme.lower(), parts.scheme.lower())
    hierarchical = "://" in text or (parts.path.startswith("/") and not parts.netloc)  # dbfs:/x, file:/x
    if not scheme or not hierarchical:  # a relative path (or scheme:opaque, which names no place)
        return registry_name(table_id)
    authority = _authority(parts.netloc, scheme)
    path = _clean_path(parts.path)
    if scheme == "file":
        return _local_file(path, host="" if authority == "localhost" else authority)
    if not authority:
        if scheme in _OBJECT_STORES:  # no bucket or container: names no place
            return registry_name(table_id)
        # GenericFilesystemDatasetExtractor: ``dbfs:/mnt/t`` -> namespace ``dbfs``, name ``/mnt/t``
        return LineageName(uri=f"{scheme}:{path}", namespace=scheme, name=unquote(path))
    namespace = f"{scheme}://{authority}"
    name = unquote(path.lstrip("/") or "/") if scheme in _OBJECT_STORES else unquote(path)
    return LineageName(uri=f"{namespace}{path}", namespace=namespace, name=name)


def table_field(table: Any, name: str) -> Any:
    """Field ``name`` of a table given as a config, a view or a mapping (None when absent): the
    one reader of the three shapes, shared by the lineage names, the assets and OpenLineage."""
    if isinstance(table, Mapping):
        return table.get(name)
    return getattr(table, name, None)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))


def table_lineage_name(table: Any) -> LineageName:
    """:func:`lineage_name` of a table config (a model, a view, or a mapping such as a seed entry)."""
    table_id = _text(table_field(table, "table_id"))
    if not table_id:
        from .errors import RegistryValidationError

        raise RegistryValidationError("a table needs a table_id to be named for lineage", field="table_id")
    return lineage_name(_text(table_field(table, "location")), table_id=table_id)


def table_role(table: Any) -> str:
    """The table's role (``source`` or ``target``; ``source`` when not given, as the model's default)."""
    return (_text(table_field(table, "role")) or "source").lower()


def table_is_active(table: Any) -> bool:
    """The table's active flag (True when not given, as the model's default)."""
    value = table_field(table, "is_active")
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "no")
    return True if value is None else bool(value)


def asset_alias_name(pipeline_id: str) -> str:
    """Name of the asset alias a pipeline's end operator emits through: ``pipeline-registry:<id>``."""
    return f"{ALIAS_PREFIX}{pipeline_id}"
