"""The parse-time builders (no DynamoDB): assets from tables and seed files, and the OpenLineage
datasets of a table list, against Airflow's own asset URI normalisation and the OpenLineage client."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from unit.test_lineage_names import RULES  # tests/unit/test_lineage_names.py

from airflow_provider_pipeline_registry.assets import (
    asset_event_extra,
    asset_for_table,
    emit_run_asset_events,
    pipeline_asset_alias,
    pipeline_assets,
    pipeline_assets_from_file,
)
from airflow_provider_pipeline_registry.openlineage import operator_lineage, row_counts

pytestmark = [pytest.mark.needs("airflow-3"), pytest.mark.airflow]

SEED = Path(__file__).resolve().parents[2] / "dags_examples" / "seed" / "pipelines.yaml"


@pytest.mark.parametrize(("location", "uri", "namespace", "name"), RULES)
def test_airflow_keeps_our_uri_as_is(location: str, uri: str, namespace: str, name: str) -> None:
    """A consumer's ``Asset("<uri>")`` normalises to the very URI the producer emits."""
    from airflow.sdk import Asset

    asset = asset_for_table({"table_id": "db.t", "location": location})
    assert asset.uri == uri
    assert Asset(uri).uri == uri
    assert asset == Asset(uri)


def test_pipeline_assets_are_the_active_targets_of_the_pipeline() -> None:
    tables = [
        {"table_id": "a", "pipeline_id": "p", "role": "source", "location": "s3://lake/a"},
        {"table_id": "b", "pipeline_id": "p", "role": "target", "location": "s3://lake/b", "partition_columns": ["d"]},
        {"table_id": "c", "pipeline_id": "p", "role": "target"},
        {"table_id": "d", "pipeline_id": "p", "role": "target", "location": "s3://lake/d", "is_active": False},
        {"table_id": "e", "pipeline_id": "other", "role": "target", "location": "s3://lake/e"},
        {"table_id": "f", "pipeline_id": "p", "role": "target", "location": "s3a://lake/b/"},  # same data as b
    ]
    assert [a.uri for a in pipeline_assets("p", tables)] == ["s3://lake/b", "pipeline-registry://table/c"]
    assert [a.uri for a in pipeline_assets("p", tables, role="source")] == ["s3://lake/a"]


def test_assets_from_the_example_seed_file() -> None:
    assets = pipeline_assets_from_file(SEED, "sales_daily", placeholders={"data_dir": "/srv/data"})
    # the inactive legacy export is not an asset of the pipeline; partition columns change nothing
    assert [a.uri for a in assets] == ["file:///srv/data/curated/sales_by_region"]
    sources = pipeline_assets_from_file(SEED, "sales_daily", role="source", placeholders={"data_dir": "/srv/data"})
    assert [a.uri for a in sources] == ["file:///srv/data/raw/sales"]
    assert pipeline_assets_from_file(SEED, "no_such_pipeline") == []


class _Accessor:
    def __init__(self) -> None:
        self.added: list[tuple[str, dict[str, object]]] = []

    def add(self, asset: object, extra: dict[str, object] | None = None) -> None:
        self.added.append((asset.uri, dict(extra or {})))  # type: ignore[attr-defined]


class _OutletEvents(dict):  # type: ignore[type-arg]
    def __missing__(self, key: object) -> _Accessor:
        self[key] = _Accessor()
        return self[key]


class _Run:
    def __init__(self, status: str) -> None:
        from datetime import UTC, datetime

        self.status = status
        self.pipeline_id = "p"
        self.run_id = "dag/run"
        self.try_number = 2
        self.end_time = datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
        self.metrics = {"records_written": 12}


@pytest.mark.parametrize("status", ["SUCCESS", "FAILED", "CANCELLED", "RUNNING"])
def test_only_a_success_emits_and_extra_holds_the_run_figures(status: str) -> None:
    tables = [{"table_id": "b", "role": "target", "location": "gs://lake/b"}, {"table_id": "a", "role": "source"}]
    events = _OutletEvents()
    emitted = emit_run_asset_events(events, run=_Run(status), tables=tables)
    if status != "SUCCESS":
        assert emitted == []
        assert events == {}
        return
    extra = {
        "pipeline_id": "p",
        "table_id": "b",
        "run_id": "dag/run",
        "try_number": 2,
        "end_time": "2026-03-08T07:00:00.000000Z",
        "records_written": 12,
    }
    assert emitted == [{"uri": "gs://lake/b", "extra": extra}]
    assert events[pipeline_asset_alias("p")].added == [("gs://lake/b", extra)]
    assert asset_event_extra(_Run("SUCCESS"), tables[0]) == extra


def test_row_counts_per_table_metric_or_the_total_for_a_single_target() -> None:
    one = [{"table_id": "t", "role": "target"}, {"table_id": "s", "role": "source"}]
    assert row_counts(one, {"records_written": 9}) == {"t": 9}
    two = [{"table_id": "t", "role": "target"}, {"table_id": "u", "role": "target"}]
    assert row_counts(two, {"records_written": 9, "records_written.u": 4}) == {"u": 4}
    assert row_counts(two, None) == {}


def test_operator_lineage_names_datasets_per_the_openlineage_spec() -> None:
    tables = [
        {"table_id": "s", "role": "source", "location": "abfss://box@acct.dfs.core.windows.net/raw/s"},
        {"table_id": "t", "role": "target", "location": "hdfs://nn:8020/w/t"},
        {"table_id": "x", "role": "target", "location": "s3://lake/x", "is_active": False},
    ]
    lineage = operator_lineage(tables, metrics={"records_written": 5}, error="TaskFailed: boom")
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("abfss://box@acct.dfs.core.windows.net", "raw/s")]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [("hdfs://nn:8020", "/w/t")]
    assert lineage.outputs[0].outputFacets["outputStatistics"].rowCount == 5
    assert lineage.run_facets["errorMessage"].message == "TaskFailed: boom"
    assert "pipelineRegistry_run" not in lineage.run_facets  # no run given


def test_operator_lineage_never_names_a_dataset_with_the_locations_credentials() -> None:
    tables = [
        {"table_id": "s", "role": "source", "location": "s3a://AKIAIOSFODNN7EXAMPLE:wJalrXUtnFEMI/K7MD+ENG@lake/raw/s"},
        {"table_id": "t", "role": "target", "location": "hdfs://etl:pa55word@nn:8020/w/t"},
    ]
    lineage = operator_lineage(tables)
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("s3://lake", "raw/s")]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [("hdfs://nn:8020", "/w/t")]
    assert [a.uri for a in pipeline_assets("p", [dict(t, role="target") for t in tables])] == [
        "s3://lake/raw/s",
        "hdfs://nn:8020/w/t",
    ]


#: the two definitions of the OpenLineage spec the registry facet's schema builds on, as published
#: in https://openlineage.io/spec/2-0-2/OpenLineage.json (OpenLineage/OpenLineage spec/OpenLineage.json,
#: Apache-2.0): kept here so that the shipped schema is checked without a network
OPENLINEAGE_SPEC_2_0_2_SUBSET = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://openlineage.io/spec/2-0-2/OpenLineage.json",
    "$defs": {
        "BaseFacet": {
            "type": "object",
            "properties": {
                "_producer": {"type": "string", "format": "uri"},
                "_schemaURL": {"type": "string", "format": "uri"},
            },
            "additionalProperties": True,
            "required": ["_producer", "_schemaURL"],
        },
        "RunFacet": {"type": "object", "allOf": [{"$ref": "#/$defs/BaseFacet"}]},
    },
}


def _facet_validator() -> object:
    import jsonschema
    from referencing import Registry, Resource

    from airflow_provider_pipeline_registry.openlineage import registry_run_facet_schema

    schema = registry_run_facet_schema()
    spec = Resource.from_contents(OPENLINEAGE_SPEC_2_0_2_SUBSET)
    registry = Registry().with_resources(
        [(OPENLINEAGE_SPEC_2_0_2_SUBSET["$id"], spec), (schema["$id"], Resource.from_contents(schema))]
    )
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, registry=registry)


@pytest.mark.parametrize(
    ("status", "error_type", "error_message"), [("SUCCESS", None, None), ("FAILED", "TaskFailed", "boom")]
)
def test_registry_run_facet_key_schema_url_and_shipped_schema(
    status: str, error_type: str | None, error_message: str | None
) -> None:
    """The custom run facet: key ``{prefix}_{name}`` (spec "Custom Facet Naming"), a ``_schemaURL``
    that is the spec's published RunFacet definition, and the package's schema validates it."""
    from openlineage.client.generated.base import RunFacet
    from openlineage.client.serde import Serde

    run = _Run(status)
    run.error_type, run.error_message = error_type, error_message  # type: ignore[attr-defined]
    lineage = operator_lineage([{"table_id": "t", "role": "target", "location": "s3://lake/t"}], run=run)
    assert list(lineage.run_facets) == ["pipelineRegistry_run"]
    facet = lineage.run_facets["pipelineRegistry_run"]
    assert type(facet).__name__ == "PipelineRegistryRunRunFacet"
    payload = Serde.to_dict(facet)  # as the OpenLineage client serializes it into the event
    document = {"pipelineRegistry_run": payload}
    schema_url = payload["_schemaURL"]
    # the spec's own versioned, canonical URL of RunFacet (what the OpenLineage client emits for it)
    assert schema_url == RunFacet._get_schema() == "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunFacet"
    base, _, pointer = schema_url.partition("#")
    assert base == OPENLINEAGE_SPEC_2_0_2_SUBSET["$id"]
    assert pointer == "/$defs/RunFacet"
    assert payload["pipelineId"] == "p"
    assert payload["runId"] == "dag/run"
    assert payload["status"] == status
    assert payload["tryNumber"] == 2
    assert payload.get("errorType") == error_type
    validator = _facet_validator()
    validator.validate(document)  # type: ignore[attr-defined]
    # and the schema is strict enough to refuse a facet missing a field or with a foreign status
    broken = {"pipelineRegistry_run": {k: v for k, v in payload.items() if k != "runId"}}
    assert list(validator.iter_errors(broken))  # type: ignore[attr-defined]
    wrong = {"pipelineRegistry_run": {**payload, "status": "DONE"}}
    assert list(validator.iter_errors(wrong))  # type: ignore[attr-defined]
    no_base = {"pipelineRegistry_run": {k: v for k, v in payload.items() if k != "_producer"}}
    assert list(validator.iter_errors(no_base))  # type: ignore[attr-defined]


def test_the_facet_schema_ships_in_the_package() -> None:
    from importlib.resources import files

    shipped = files("airflow_provider_pipeline_registry").joinpath("lineage/facets/PipelineRegistryRunRunFacet.json")
    assert shipped.is_file()
    schema = json.loads(shipped.read_text(encoding="utf-8"))
    assert schema["properties"] == {"pipelineRegistry_run": {"$ref": "#/$defs/PipelineRegistryRunRunFacet"}}
