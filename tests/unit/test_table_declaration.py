"""The registry's tables are declared once (registry/tables.py); this ties everything that cannot
derive from the declaration at runtime to it: the ``LogicalTable`` type, each model's ``Meta``,
``DynamoDBConfig``'s fields, the hook's typed arguments, the setup path (``create_tables``, used
by the CLI, the hook and every test fixture) and the README's storage contract."""

from __future__ import annotations

import importlib
import pkgutil
import re
from typing import get_args, get_type_hints

import boto3
import pytest
from docs.doc_pages import doc_files, section

from airflow_provider_pipeline_registry import registry as registry_package
from airflow_provider_pipeline_registry.registry import Registry
from airflow_provider_pipeline_registry.registry.config import DynamoDBConfig
from airflow_provider_pipeline_registry.registry.model import RegistryModel, extract_model_metadata
from airflow_provider_pipeline_registry.registry.schema import registry_models
from airflow_provider_pipeline_registry.registry.settings import SETTINGS_BY_NAME, RegistrySettingArgs
from airflow_provider_pipeline_registry.registry.tables import LOGICAL_TABLES, TABLES, LogicalTable

IDS = [t.logical for t in TABLES]


def test_the_logical_table_type_lists_the_declared_tables() -> None:
    assert get_args(LogicalTable) == LOGICAL_TABLES == tuple(IDS)
    assert len(set(IDS)) == len(IDS)
    assert len({t.setting for t in TABLES}) == len(TABLES)


@pytest.mark.parametrize("table", TABLES, ids=IDS)
def test_each_table_has_its_model_setting_and_name(table) -> None:  # type: ignore[no-untyped-def]
    assert extract_model_metadata(table.model()).table == table.logical
    setting = SETTINGS_BY_NAME[table.setting]
    assert (setting.default, setting.label, setting.env_vars) == (
        table.logical,
        table.label,
        (f"DYNAMODB_{table.setting.upper()}",),
    )
    assert table.setting in DynamoDBConfig.model_fields
    assert table.setting in get_type_hints(RegistrySettingArgs)
    assert DynamoDBConfig().table_name(table.logical) == table.logical
    renamed = DynamoDBConfig(environment="dev", **{table.setting: "renamed"})
    assert renamed.table_name(table.logical) == "dev_renamed"
    with pytest.raises(Exception, match="may contain only"):
        DynamoDBConfig(**{table.setting: "no spaces"})


def _models_with_a_table(base: type[RegistryModel]) -> set[type[RegistryModel]]:
    """The package's public models that declare a ``Meta.table`` (private helpers excluded)."""
    found: set[type[RegistryModel]] = set()
    for sub in base.__subclasses__():
        public = sub.__module__.startswith(f"{registry_package.__name__}.") and not sub.__name__.startswith("_")
        if public and "Meta" in vars(sub) and getattr(sub.Meta, "table", None):
            found.add(sub)
        found |= _models_with_a_table(sub)
    return found


def test_every_stored_model_is_a_declared_table() -> None:
    for module in pkgutil.walk_packages(registry_package.__path__, f"{registry_package.__name__}."):
        importlib.import_module(module.name)
    declared = registry_models()
    assert list(declared) == IDS
    stored = set(declared.values())
    by_table = {model.Meta.table: model for model in stored}
    for model in _models_with_a_table(RegistryModel) - stored:
        # another model of a declared table is only a projection of its items (an index's view)
        owner = by_table.get(model.Meta.table)
        assert owner is not None, f"{model.__name__}: a model of a table not declared in registry/tables.py"
        assert set(model.model_fields) <= set(owner.model_fields), f"{model.__name__} has fields {owner.__name__} lacks"
        assert (model.Meta.partition_key, getattr(model.Meta, "sort_key", None)) == (
            owner.Meta.partition_key,
            getattr(owner.Meta, "sort_key", None),
        )
    assert stored <= _models_with_a_table(RegistryModel)


def test_the_setup_path_creates_every_declared_table(dynamodb_endpoint: str, unique_prefix: str) -> None:
    config = DynamoDBConfig(endpoint_url=dynamodb_endpoint, table_prefix=unique_prefix)
    registry = Registry(config)
    created = registry.create_tables(timeout=60)
    expected = {config.table_name(t.logical) for t in TABLES}
    assert created == dict.fromkeys(expected, True)
    client = boto3.client("dynamodb", endpoint_url=dynamodb_endpoint, region_name=config.region)
    pages = client.get_paginator("list_tables").paginate()  # the session's DynamoDB holds many tables
    listed = {name for page in pages for name in page["TableNames"] if name.startswith(unique_prefix)}
    assert listed == expected
    assert registry.tables_status() == dict.fromkeys(expected, "ACTIVE")


def _readme_section(title: str) -> str:
    """The docs section ``title`` up to its first subheading, on whichever page holds it."""
    return re.split(r"^#{1,6} ", section(title).text, maxsplit=1, flags=re.M)[0]


def _contract_row(table_id: str) -> list[str]:
    meta = extract_model_metadata(registry_models()[table_id])  # type: ignore[index]
    indexes = "; ".join(
        f"`{g.name}` (`{g.partition_key}`"
        + (f", `{g.sort_key}`" if g.sort_key else "")
        + ")"
        + (", sparse" if g.sparse else "")
        for g in meta.gsis
    )
    return [f"`{table_id}`", f"`{meta.partition_key}`", f"`{meta.sort_key}`" if meta.sort_key else "-", indexes or "-"]


def test_the_readme_storage_contract_lists_every_table_with_its_keys_and_indexes() -> None:
    section = _readme_section("Storage contract")
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in section.splitlines()
        if line.startswith("| `")
    ]
    assert rows == [_contract_row(t) for t in IDS]


def test_the_readme_names_every_table_where_it_lists_them() -> None:
    [create_row] = [
        line
        for path in doc_files()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.startswith("| `tables create")
    ]
    assert re.findall(r"`(\w+)`", create_row.split("|")[2]) == IDS
