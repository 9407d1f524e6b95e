"""Watermarks in the plugin: the table page and ``api/v1/watermark`` (committed value and history),
the pipeline page's committed values and the run page's from -> to, over FastAPI's TestClient
against the seeded DynamoDB Local (``ui_seed.seed_watermarks``), with real auth."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from ui_auth import token_for
from ui_seed import (
    REWIND_REASON_SECRET,
    WATERMARK_REWOUND,
    WATERMARK_RUN,
    WATERMARK_TABLE,
    WATERMARK_TO,
)

from airflow_provider_pipeline_registry.plugins.app import create_app
from airflow_provider_pipeline_registry.plugins.settings import URL_PREFIX
from airflow_provider_pipeline_registry.registry import Registry

pytestmark = [pytest.mark.integration, pytest.mark.airflow]


@pytest.fixture(scope="module")
def client(seeded_registry: Registry, auth_manager: Any) -> Iterator[TestClient]:
    parent = FastAPI()
    parent.mount(URL_PREFIX, create_app(lambda: seeded_registry))
    with TestClient(parent, base_url=f"http://testserver{URL_PREFIX}") as c:
        c.headers["Authorization"] = f"Bearer {token_for(auth_manager, 'viewer', 'VIEWER')}"
        yield c


def test_api_gives_the_committed_value_and_the_history_newest_first(client: TestClient) -> None:
    body = client.get("/api/v1/watermark", params={"table_id": WATERMARK_TABLE}).json()
    assert body["committed_value"] == WATERMARK_REWOUND
    assert body["watermark_type"] == "timestamp"
    assert body["moves"] == 2
    assert body["rewound_by"]
    assert body["display_timezone"] == "Europe/Paris"
    rewind, commit = body["history"]
    assert (rewind["kind"], rewind["from_value"], rewind["to_value"]) == ("rewind", WATERMARK_TO, WATERMARK_REWOUND)
    assert (commit["kind"], commit["run_id"], commit["from_value"], commit["to_value"]) == (
        "commit",
        WATERMARK_RUN,
        None,
        WATERMARK_TO,
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", commit["at"])  # UTC, like every API time
    assert REWIND_REASON_SECRET not in str(body)  # the reason is shown redacted
    assert "late rows" in rewind["reason"]


def test_api_unknown_table_is_404(client: TestClient) -> None:
    response = client.get("/api/v1/watermark", params={"table_id": "nope"})
    assert response.status_code == 404
    detail = response.json()["detail"]
    assert detail["error"] == "not_found"
    assert "'nope'" in detail["message"]  # the registry's error, naming the table (not a missing route)


def test_table_page_shows_the_value_and_the_history(client: TestClient) -> None:
    page = client.get("/ui/table", params={"table_id": WATERMARK_TABLE})
    assert page.status_code == 200
    committed = re.search(r'<dd id="committed">(.*?)</dd>', page.text, re.S)
    assert committed is not None
    assert WATERMARK_REWOUND in committed.group(1)
    rows = re.findall(r"<tr><td><time.*?</tr>", page.text, re.S)
    assert len(rows) == 2
    assert "rewind" in rows[0]
    assert "commit" in rows[1]
    assert 'href="run?pipeline_id=inventory_hourly&amp;run_id=inventory_dag%2Fmanual__' in rows[1]
    assert REWIND_REASON_SECRET not in page.text
    missing = client.get("/ui/table", params={"table_id": "<script>x</script>"})
    assert missing.status_code == 404
    assert "<script>x</script>" not in missing.text  # escaped


def test_pipeline_page_shows_the_committed_value_and_links_the_table(client: TestClient) -> None:
    page = client.get("/ui/pipeline", params={"pipeline_id": "inventory_hourly"}).text
    row = re.search(
        r"<tr><td data-label=\"Table id\"><a class=\"table-link\" href=\"table\?table_id=stock_levels\">.*?</tr>",
        page,
        re.S,
    )
    assert row is not None, page
    assert f"updated_at = <code>{WATERMARK_REWOUND}</code>" in row.group(0)


def test_run_page_shows_the_from_and_to_it_committed(client: TestClient) -> None:
    page = client.get("/ui/run", params={"pipeline_id": "inventory_hourly", "run_id": WATERMARK_RUN}).text
    moves = re.search(r'<table id="watermarks">(.*?)</table>', page, re.S)
    assert moves is not None, page
    assert "stock_levels" in moves.group(1)
    assert f"<code>none</code> &rarr; <code>{WATERMARK_TO}</code>" in moves.group(1)
    running = client.get(
        "/ui/run",
        params={"pipeline_id": "inventory_hourly", "run_id": "inventory_dag/manual__2026-12-01T08:00:00+00:00"},
    ).text
    assert 'id="watermarks"' not in running  # a RUNNING run committed nothing
