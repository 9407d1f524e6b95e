"""The installed environment is one consistent tree: no two distributions own the same file.

``apache-airflow-providers-apache-spark`` depends on ``pyspark-client``, which installs into the
same ``pyspark/`` directory as ``pyspark``: whichever is installed last silently wins, and
uninstalling one breaks the other. pyproject.toml drops pyspark-client (``[tool.uv]
override-dependencies``); these tests read every installed distribution's RECORD.
"""

from __future__ import annotations

import importlib.metadata
import sys
from collections import defaultdict
from pathlib import Path

import pytest

# RECORD entries that every wheel may legitimately share (none so far).
SHARED_OK: frozenset[str] = frozenset()


def _distributions() -> list[importlib.metadata.Distribution]:
    """The distributions installed in this interpreter's environment (site-packages of sys.prefix)."""
    prefix = Path(sys.prefix).resolve()
    found = []
    for dist in importlib.metadata.distributions():
        location = Path(str(dist.locate_file(""))).resolve()
        if location.is_relative_to(prefix):
            found.append(dist)
    return found


def _owned_files(dist: importlib.metadata.Distribution) -> list[str]:
    """The files a distribution's RECORD lists (without its own .dist-info metadata)."""
    files = dist.files or []
    return [str(f) for f in files if ".dist-info/" not in str(f) and not str(f).endswith(".pyc")]


def test_no_two_distributions_own_the_same_file() -> None:
    owners: dict[str, set[str]] = defaultdict(set)
    for dist in _distributions():
        name = dist.metadata["Name"]
        for path in _owned_files(dist):
            owners[path].add(name)
    shared = {path: names for path, names in owners.items() if len(names) > 1 and path not in SHARED_OK}
    by_pair: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for path, names in shared.items():
        by_pair[tuple(sorted(names))].append(path)
    report = "; ".join(
        f"{' and '.join(pair)} both write {len(paths)} files, e.g. {sorted(paths)[:3]}"
        for pair, paths in by_pair.items()
    )
    assert not shared, f"installed distributions overwrite each other's files: {report}"


@pytest.mark.parametrize("name", ["pyspark", "apache-airflow-providers-apache-spark"])
def test_spark_distributions_are_complete(name: str) -> None:
    """Every file pyspark's RECORD lists is on disk (uninstalling an overlapping package removes them)."""
    dist = importlib.metadata.distribution(name)
    missing = [path for path in _owned_files(dist) if not Path(str(dist.locate_file(path))).exists()]
    assert not missing, (
        f"{name} {dist.version}: {len(missing)} of its files are missing, e.g. {missing[:3]} "
        f"(reinstall it: uv sync --reinstall-package {name})"
    )


def test_spark_connect_client_comes_from_pyspark() -> None:
    """The Spark Connect client (what pyspark-client provided) is pyspark's own, at pyspark's version."""
    dist = importlib.metadata.distribution("pyspark")
    owned = {str(f) for f in dist.files or []}
    assert "pyspark/sql/connect/session.py" in owned
    assert Path(str(dist.locate_file("pyspark/sql/connect/session.py"))).is_file()
    version_file = Path(str(dist.locate_file("pyspark/version.py"))).read_text()
    assert f"'{dist.version}'" in version_file, f"pyspark/version.py is not pyspark {dist.version}'s: {version_file!r}"
