"""The one redaction of the package (registry/redaction.py): Airflow's rules, without Airflow."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_pipeline_registry.registry import redaction
from airflow_provider_pipeline_registry.registry.errors import RegistryError, redact
from airflow_provider_pipeline_registry.registry.redaction import (
    MASK,
    add_sensitive_names,
    is_sensitive_key,
    looks_redacted,
    redact_args,
    redact_mapping,
    redact_model,
    redact_text,
    redact_value,
    secret_values,
)

S3_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
KEY_ID = "AKIAIOSFODNN7EXAMPLE"


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        # the issue's cases
        ("spark.hadoop.fs.s3a.secret.key", S3_SECRET, MASK),
        ("spark.hadoop.fs.s3a.access.key", KEY_ID, MASK),
        ("spark.hadoop.fs.s3a.session.token", "FwoGZXIvYXdzEJr", MASK),
        ("api_token", "tok-123456", MASK),
        ("password", "hunter22", MASK),
        ("DB_PASSWORD", "hunter22", MASK),
        ("spark.hadoop.fs.azure.account.key.acct.dfs.core.windows.net", "azkey==", MASK),
        ("secretAccessKey", "x1234567", MASK),  # camelCase read split too
        ("accessKeyId", KEY_ID, MASK),
        ("connection_string", "Server=db;Uid=u;Pwd=p1234567", MASK),
        ("password", 123456, MASK),  # a number under a sensitive name is hidden too
        ("password", "", ""),  # nothing to hide
        ("password", None, None),
        ("use_token", True, True),  # a flag holds no secret
        # not sensitive: unchanged
        ("spark.executor.memory", "4g", "4g"),
        ("spark.hadoop.fs.s3a.aws.credentials.provider", "com.amazonaws.auth.InstanceProfileCredentialsProvider", None),
        ("threshold", 10, 10),
        ("location", "s3://lake/raw/sales/", "s3://lake/raw/sales/"),
        # text under any key
        ("location", f"s3://{KEY_ID}:{S3_SECRET}@bucket/key", "s3://***@bucket/key"),
        (
            "spark.myapp.jdbc.url",
            "jdbc:postgresql://etl:pw-123456@db:5432/sales",
            "jdbc:postgresql://***@db:5432/sales",
        ),
        (
            "url",
            "jdbc:postgresql://db/sales?ssl=true&password=pw-123456&user=etl",
            "jdbc:postgresql://db/sales?ssl=true&password=***&user=etl",
        ),
        (
            "url",
            "jdbc:sqlserver://db:1433;databaseName=s;user=etl;password=pw-123456;",
            "jdbc:sqlserver://db:1433;databaseName=s;user=etl;password=***;",
        ),
        ("url", "Driver={ODBC};Server=db;PWD={a;b;c};", "Driver={ODBC};Server=db;PWD={***};"),
        ("url", "https://api.example/v1?token=abcdef&page=2", "https://api.example/v1?token=***&page=2"),
        (
            "jaas",
            'PlainLoginModule required username="u" password="p-123456";',
            'PlainLoginModule required username="u" password="***";',
        ),
        ("note", "login with user@example.com", "login with user@example.com"),  # no scheme: no userinfo
        ("note", "ftp://anonymous@ftp.example/pub", "ftp://***@ftp.example/pub"),
    ],
)
def test_values_by_key(key: str, value: Any, shown: Any) -> None:
    expected = value if shown is None and value is not None else shown
    assert redact_value(key, value) == expected


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (["--db-password", "xyz"], ["--db-password", MASK]),
        (["--db-password=xyz"], ["--db-password=***"]),
        (["--secret-key", "abc", "--date", "2026-03-08"], ["--secret-key", MASK, "--date", "2026-03-08"]),
        (["--conf", "spark.hadoop.fs.s3a.secret.key=abc"], ["--conf", "spark.hadoop.fs.s3a.secret.key=***"]),
        (["--api-token", "--verbose"], ["--api-token", "--verbose"]),  # a boolean flag: the next flag stays
        (["--password"], ["--password"]),  # nothing follows
        (["--input", "s3://a:b@bucket/in"], ["--input", "s3://***@bucket/in"]),
        (["--date", "{{ ds }}", "-v", "5"], ["--date", "{{ ds }}", "-v", "5"]),
        (["password=xyz", "mode=fast"], ["password=***", "mode=fast"]),
    ],
)
def test_command_line_arguments(args: list[str], shown: list[str]) -> None:
    assert redact_args(args) == shown
    assert redact_value("spark_args", args) == shown  # a list under a key is read as arguments


def test_nested_mappings_and_lists_at_any_depth() -> None:
    pipeline = {
        "pipeline_id": "p",
        "spark_conf": {"spark.hadoop.fs.s3a.secret.key": S3_SECRET, "spark.executor.memory": "4g"},
        "spark_args": ["--db-password", "xyz", "--date", "{{ ds }}"],
        "parameters": {
            "api_token": "t-123456",
            "db": {"host": "db.example", "password": "p-123456", "port": 5432},
            "targets": [{"name": "a", "secret": {"deep": ["x-123456"]}}, "plain"],
            "credentials": {"token": "z-123456"},
        },
        "tags": ["a", "b"],
    }
    assert redact_mapping(pipeline) == {
        "pipeline_id": "p",
        "spark_conf": {"spark.hadoop.fs.s3a.secret.key": MASK, "spark.executor.memory": "4g"},
        "spark_args": ["--db-password", MASK, "--date", "{{ ds }}"],
        "parameters": {
            "api_token": MASK,
            "db": {"host": "db.example", "password": MASK, "port": 5432},
            "targets": [{"name": "a", "secret": {"deep": [MASK]}}, "plain"],
            "credentials": {"token": MASK},
        },
        "tags": ["a", "b"],
    }
    assert pipeline["parameters"]["db"]["password"] == "p-123456"  # a copy: the input is untouched


def test_non_sensitive_values_are_returned_unchanged() -> None:
    plain = {"spark.executor.memory": "4g", "n": 3, "ratio": 0.5, "flag": False, "none": None, "list": [1, "a"]}
    assert redact_mapping(plain) == plain
    assert redact_text("table pipeline_config has 3 items") == "table pipeline_config has 3 items"


def test_redaction_is_idempotent() -> None:
    value = {"password": "x-123456", "url": "s3://a:b@c/d?token=q&x=1", "args": ["--secret", "v"]}
    once = redact_mapping(value)
    assert redact_mapping(once) == once


def test_sensitive_var_conn_names_extend_the_names() -> None:
    assert not is_sensitive_key("spark.myapp.license")
    assert redact_value("spark.myapp.license", "L-123456", extra_names="license, other") == MASK
    assert redact_args(["--license", "L-123456"], extra_names=["license"]) == ["--license", MASK]
    assert redact_text("x?license=L-123456", extra_names="license") == "x?license=***"
    snapshot = set(redaction._added_names)
    try:
        add_sensitive_names("license,  ,other_name")  # as [core] sensitive_var_conn_names is written
        assert is_sensitive_key("spark.myapp.LICENSE")
        assert redact_mapping({"license": "L-123456"}) == {"license": MASK}
    finally:
        redaction._added_names.clear()
        redaction._added_names.update(snapshot)


def test_secret_values_lists_what_is_hidden() -> None:
    found = secret_values(
        None,
        {
            "location": f"s3://{KEY_ID}:{S3_SECRET}@bucket/key",
            "password": "p-123456",
            "args": ["--db-password", "xyz-123456", "--x=1"],
            "url": "jdbc:x://db?password=q-123456",
        },
    )
    assert set(found) == {S3_SECRET, KEY_ID, "p-123456", "xyz-123456", "q-123456"}


def test_looks_redacted() -> None:
    assert looks_redacted(MASK)
    assert looks_redacted("s3://***@bucket/x")
    assert looks_redacted("jdbc:x://db?password=***&a=1")
    assert not looks_redacted("a***b")
    assert not looks_redacted("s3://bucket/x")


def test_models_come_back_redacted_copies() -> None:
    from pydantic import BaseModel

    class Inner(BaseModel):
        error_message: str | None = None

    class View(BaseModel):
        location: str | None = None
        options: dict[str, str] = {}
        attempts: list[Inner] = []
        version: int = 1

    view = View(
        location="s3://a:b@bucket/t",
        options={"password": "p-123456", "header": "true"},
        attempts=[Inner(error_message="connect jdbc:pg://u:pw@db failed")],
    )
    shown = redact_model(view)
    assert shown.location == "s3://***@bucket/t"
    assert shown.options == {"password": MASK, "header": "true"}
    assert shown.attempts[0].error_message == "connect jdbc:pg://***@db failed"
    assert view.options["password"] == "p-123456"


def test_errors_redact_is_the_same_redaction() -> None:
    text = f"boom at postgres://u:pw-123456@db with {KEY_ID} Signature=abcdef0123 password=xyz-123456"
    assert redact(text) == redact_text(text)
    message = RegistryError(text).message
    for secret in ("pw-123456", KEY_ID, "abcdef0123", "xyz-123456"):
        assert secret not in message


def test_our_names_contain_airflows_own_list() -> None:
    """Drift guard: Airflow's DEFAULT_SENSITIVE_FIELDS (3.x _shared path, or 2.11's) is a subset of ours."""
    airflow_names = None
    for module in ("airflow._shared.secrets_masker", "airflow.utils.log.secrets_masker"):
        try:
            imported = __import__(module, fromlist=["DEFAULT_SENSITIVE_FIELDS"])
        except ImportError:
            continue
        airflow_names = getattr(imported, "DEFAULT_SENSITIVE_FIELDS", None)
        if airflow_names is not None:
            break
    if airflow_names is None:
        pytest.skip("Airflow is not importable here")
    assert set(airflow_names) <= redaction.AIRFLOW_SENSITIVE_NAMES


@pytest.mark.parametrize("key", ["spark.hadoop.fs.s3a.secret.key", "x.api_key", "PROXY_PASSWORD", "my-Token"])
def test_our_key_rule_agrees_with_airflows(key: str) -> None:
    pytest.importorskip("airflow")
    try:
        from airflow._shared.secrets_masker import secrets_masker as module  # Airflow 3
    except ImportError:  # Airflow 2.11: the module function reads the configured names
        from airflow.utils.log import secrets_masker as legacy

        assert legacy.should_hide_value_for_key(key) is True
    else:
        masker = module.SecretsMasker()  # configured as airflow.settings does
        masker.hide_sensitive_var_conn_fields = True
        masker.sensitive_variables_fields = list(module.DEFAULT_SENSITIVE_FIELDS)
        assert masker.should_hide_value_for_key(key) is True
    assert is_sensitive_key(key)
