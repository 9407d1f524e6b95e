"""The emulator table of docs/contributing.md states what ``tests/backends.py`` deselects."""

from __future__ import annotations

import re

from backends import BACKENDS, FEATURES, MISSING
from docs.doc_pages import marked_region

#: the table's implementation names -> the backends of PIPELINE_REGISTRY_TEST_BACKEND
ROW_BACKENDS = {"DynamoDB Local": "dynamodb-local", "moto (server mode)": "moto-server", "dynalite": "dynalite"}


def table_rows() -> dict[str, list[str]]:
    """The table's rows by implementation name: their cells, the header and rule rows left out."""
    _, table = marked_region("emulator-table")
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in table.strip().splitlines()]
    return {row[0]: row for row in rows[2:]}


def test_every_backend_has_one_row_with_well_formed_cells() -> None:
    rows = table_rows()
    assert sorted(ROW_BACKENDS[name] for name in rows) == sorted(BACKENDS)
    assert {len(cells) for cells in rows.values()} == {4}  # nothing outside the last cell


def test_each_row_names_exactly_the_features_its_backend_lacks() -> None:
    for name, cells in table_rows().items():
        stated = set(re.findall(r"`([a-z-]+)`", cells[1])) if cells[1] != "none" else set()
        assert stated <= set(FEATURES), f"{name}: unknown features {sorted(stated - set(FEATURES))}"
        assert stated == set(MISSING[ROW_BACKENDS[name]]), name
