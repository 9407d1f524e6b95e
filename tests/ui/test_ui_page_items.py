"""Issue 25, the last page items, server side (FastAPI's TestClient, a Viewer's JWT, DynamoDB Local):
the chart's usual band and its outlier-proof scale, pipelines that have runs but no config listed
on the pipelines page, a bad table item shown by its key under its pipeline's config. The browser
walk of the same items is in test_ui_items_browser.py."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from ui_auth import token_for
from ui_seed import outlier_runs

from airflow_provider_pipeline_registry.plugins.app import create_app
from airflow_provider_pipeline_registry.plugins.chart import HEIGHT, TOP
from airflow_provider_pipeline_registry.plugins.settings import URL_PREFIX
from airflow_provider_pipeline_registry.registry import Registry

pytestmark = [pytest.mark.integration, pytest.mark.airflow]

#: the chart's plot area ends this many px above the SVG's bottom (the time axis labels)
PLOT_BOTTOM = HEIGHT - 40


@pytest.fixture
def fresh(make_registry: Callable[..., Registry], auth_manager: Any) -> Iterator[tuple[Registry, TestClient]]:
    registry = make_registry(user_timezone="UTC")
    parent = FastAPI()
    parent.mount(URL_PREFIX, create_app(lambda: registry))
    try:
        with TestClient(parent, base_url=f"http://testserver{URL_PREFIX}") as client:
            client.headers["Authorization"] = f"Bearer {token_for(auth_manager, 'viewer', 'VIEWER')}"
            yield registry, client
    finally:
        for name in registry.config.describe()["tables"].values():
            registry.client.delete_table(TableName=name)


def chart_geometry(html: str) -> dict[str, Any]:
    """The chart's dots (cy and seconds), its clipped outliers (label) and its usual band (y, height)."""
    svg = html.split('<svg id="duration-chart"', 1)[1].split("</svg>", 1)[0]
    dot = r'<circle class="run-dot[^"]*" cx="[\d.]+" cy="([\d.]+)"[^>]*data-seconds="([\d.]+)"'
    dots = [(float(cy), float(seconds)) for cy, seconds in re.findall(dot, svg)]
    clipped = re.findall(r'<g class="run-dot clipped[^"]*" data-seconds="([\d.]+)">.*?<text[^>]*>([^<]+)</text>', svg)
    band = re.search(r'<rect id="usual-band" x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)"', svg)
    return {
        "dots": dots,
        "clipped": clipped,
        "band": (float(band.group(1)), float(band.group(2))) if band else None,
        "scale": re.search(r'data-scale="(\w+)"', html).group(1) if 'data-scale="' in html else None,  # type: ignore[union-attr]
    }


def test_the_chart_draws_the_usual_band_and_an_outlier_does_not_flatten_it(
    fresh: tuple[Registry, TestClient],
) -> None:
    registry, client = fresh
    registry.pipelines_write.create({"pipeline_id": "p", "name": "P"})
    assert registry.runs_write.batch_upsert(outlier_runs("p")).ok
    html = client.get("/ui/pipeline", params={"pipeline_id": "p"}).text
    chart = chart_geometry(html)
    assert chart["scale"] == "clipped"
    # the eleven ordinary runs keep their spread (60-115 s on an axis clipped at 3x their p90: about
    # 24 px of the 150 px plot; a linear axis up to 3,000 s would squeeze them into 3 px at the bottom)
    dots = chart["dots"]
    assert len(dots) == 11
    cys = [cy for cy, _ in dots]
    assert max(cys) - min(cys) > 15, cys
    assert min(cys) < PLOT_BOTTOM - 40, cys
    # ordered by duration: a longer run is drawn higher
    by_seconds = [cy for _, cy in sorted((s, cy) for cy, s in dots)]
    assert by_seconds == sorted(by_seconds, reverse=True)
    # the outlier: at the top edge, marked, its real duration in its label
    assert chart["clipped"] == [("3000", "50.0 min")]
    assert "off the scale" in html
    # the usual band: median to p90 of the recent successful runs, inside the plot
    band = chart["band"]
    assert band is not None
    y, height = band
    assert y >= TOP, band
    assert y + height <= PLOT_BOTTOM, band
    assert height > 5, band
    usual = client.get("/api/v1/runs", params={"pipeline_id": "p"}).json()["usual"]
    assert f"median {usual['median_seconds'] / 60:.1f} min" in html.split('id="usual-band"', 1)[1].split("</rect>")[0]


def test_an_even_chart_is_linear_with_its_band(fresh: tuple[Registry, TestClient]) -> None:
    registry, client = fresh
    registry.pipelines_write.create({"pipeline_id": "p", "name": "P"})
    assert registry.runs_write.batch_upsert([r for r in outlier_runs("p") if not r["run_id"].endswith("08")]).ok
    chart = chart_geometry(client.get("/ui/pipeline", params={"pipeline_id": "p"}).text)
    assert chart["scale"] == "linear"
    assert chart["clipped"] == []
    assert len(chart["dots"]) == 11
    assert chart["band"] is not None
    assert min(cy for cy, _ in chart["dots"]) <= TOP + 1  # the longest run at the top


def test_pipelines_without_config_are_listed(fresh: tuple[Registry, TestClient]) -> None:
    registry, client = fresh
    registry.pipelines_write.create({"pipeline_id": "with_config", "name": "With config", "owner": "ops"})
    runs = outlier_runs("with_config")[:2] + outlier_runs("ghost_backfill")[:3] + outlier_runs("adhoc")[:1]
    assert registry.runs_write.batch_upsert(runs).ok

    body = client.get("/api/v1/pipelines").json()
    assert [p["pipeline_id"] for p in body["pipelines"]] == ["with_config"]
    assert body["without_config"]["pipeline_ids"] == ["adhoc", "ghost_backfill"]
    assert body["without_config"]["partial"] is False
    searched = client.get("/api/v1/pipelines", params={"search": "GHOST"}).json()
    assert searched["without_config"]["pipeline_ids"] == ["ghost_backfill"]
    assert client.get("/api/v1/pipelines", params={"owner": "ops"}).json()["without_config"]["pipeline_ids"] == []

    page = client.get("/ui/").text
    orphans = page.split('id="orphans"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td[^>]*>(.*?)</tr>", orphans, re.S)
    assert len(rows) == 2
    assert 'href="pipeline?pipeline_id=ghost_backfill"' in rows[1]
    assert "no config" in rows[1]
    assert "ghost_backfill" not in page.split('id="pipelines"', 1)[1].split("</table>", 1)[0]
    # its link leads to its runs
    runs_page = client.get("/ui/pipeline", params={"pipeline_id": "ghost_backfill"}).text
    assert 'id="no-config"' in runs_page
    assert len(re.findall(r'class="run-link"', runs_page)) == 3


def test_a_bad_table_item_does_not_hide_its_pipelines_config(fresh: tuple[Registry, TestClient]) -> None:
    registry, client = fresh
    registry.pipelines_write.create(
        {"pipeline_id": "p", "name": "P", "owner": "ops", "spark_application": "s3://jobs/p.py"}
    )
    registry.tables_write.create({"table_id": "good_t", "pipeline_id": "p", "table_name": "good", "role": "source"})
    registry.tables_write.create({"table_id": "bad_t", "pipeline_id": "p", "table_name": "bad", "role": "target"})
    table = registry.tables.gateway.table_name
    key = {"table_id": {"S": "bad_t"}}
    item = registry.client.get_item(TableName=table, Key=key, ConsistentRead=True)["Item"]
    registry.client.put_item(TableName=table, Item={**item, "role": {"S": "sideways"}})  # another tool wrote it

    page = client.get("/ui/pipeline", params={"pipeline_id": "p"})
    assert page.status_code == 200, page.text[-500:]
    assert 'id="pipeline-config"' in page.text
    assert "s3://jobs/p.py" in page.text
    tables = page.text.split('id="tables"', 1)[1].split("</table>", 1)[0]
    assert "good_t" in tables
    bad = re.findall(r'<tr class="bad-item"><td colspan="8">(.*?)</td></tr>', tables, re.S)
    assert len(bad) == 1
    assert "table_id=&#39;bad_t&#39;" in bad[0]
    assert "role" in bad[0]

    api = client.get("/api/v1/pipeline", params={"pipeline_id": "p"})
    assert api.status_code == 200, api.text
    assert [t["table_id"] for t in api.json()["tables"]] == ["good_t"]
    (bad_json,) = api.json()["bad_tables"]
    assert bad_json["key"] == {"table_id": "bad_t"}
    assert any(e["field"] == "role" for e in bad_json["errors"])
