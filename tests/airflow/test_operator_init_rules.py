"""Airflow's own operator rules, applied to every operator and sensor of the provider.

Airflow's pre-commit check ``scripts/ci/prek/validate_operators_init.py`` (apache/airflow) requires
of an operator's ``__init__``:

1. every template field is assigned as given, ``self.<field> = <field>`` (or ``<field> or
   <default>``, or a value-preserving ternary), or forwarded ``super().__init__(<field>=<field>)``
   to the class that assigns it; never through a helper method, never transformed;
2. no template field is read otherwise (no validation, conditionals or transformation), since the
   value is the un-rendered Jinja text there; only ``<field> is None`` / ``is not None`` checks
   (whether the argument was passed) are allowed.

Airflow's script reads one file and stops at the class's direct bases; this test resolves the
template fields at runtime (``cls.template_fields``, helpers included) and follows the MRO to the
class whose ``__init__`` owns each field, so a field stored by a mixin method is found missing.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Iterator
from functools import cache

import pytest

from airflow_provider_pipeline_registry.compat import BaseOperator
from airflow_provider_pipeline_registry.operators import base as operator_base
from airflow_provider_pipeline_registry.operators import pipeline_registry as operators
from airflow_provider_pipeline_registry.sensors import base as sensor_base
from airflow_provider_pipeline_registry.sensors import pipeline_registry as sensors

pytestmark = pytest.mark.airflow

PACKAGE = "airflow_provider_pipeline_registry"


def provider_operators() -> list[type[BaseOperator]]:
    found: dict[str, type[BaseOperator]] = {}
    for module in (operator_base, operators, sensor_base, sensors):
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseOperator) and value.__module__.startswith(PACKAGE):
                found[value.__qualname__] = value
    return sorted(found.values(), key=lambda c: c.__qualname__)


OPERATORS = provider_operators()

#: reads the rule allows here, as Airflow's exemption list does (each must still occur: no stale entry).
#: The end operator's asset alias is an outlet, which the scheduler reads from the parsed DAG, so it
#: can only come from the un-rendered ``pipeline_id``; a templated id (``{{ ... }}``) gets no alias
#: (``assets.end_operator_outlets``), so the Jinja text is never taken for the id.
EXEMPT_READS = {("EndPipelineRunOperator", "pipeline_id")}


@cache
def init_node(cls: type) -> ast.FunctionDef | None:
    """The AST of ``cls``'s own ``__init__`` (None when it has none)."""
    if "__init__" not in cls.__dict__ or not cls.__module__.startswith(PACKAGE):
        return None  # Airflow's own classes take none of the provider's fields
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls.__dict__["__init__"])))
    node = tree.body[0]
    assert isinstance(node, ast.FunctionDef)
    return node


def params(node: ast.FunctionDef) -> set[str]:
    a = node.args
    return {x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)}


def is_none_check(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Compare)
        and len(node.ops) == 1
        and isinstance(node.ops[0], (ast.Is, ast.IsNot))
        and isinstance(node.comparators[0], ast.Constant)
        and node.comparators[0].value is None
    )


def kept_value(value: ast.expr | None, field: str) -> ast.Name | None:
    """The ``field`` name node when ``value`` keeps the argument as given (Airflow's sanctioned forms)."""
    if isinstance(value, ast.BoolOp) and isinstance(value.op, ast.Or):
        value = value.values[0]
    elif isinstance(value, ast.IfExp) and isinstance(value.body, ast.Name) and value.body.id == field:
        test = value.test
        if (isinstance(test, ast.Name) and test.id == field) or (
            is_none_check(test) and isinstance(test, ast.Compare) and getattr(test.left, "id", None) == field
        ):
            value = value.body
    return value if isinstance(value, ast.Name) and value.id == field else None


def is_super_init(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "__init__"
        and isinstance(node.func.value, ast.Call)
        and isinstance(node.func.value.func, ast.Name)
        and node.func.value.func.id == "super"
    )


def self_targets(stmt: ast.stmt) -> Iterator[tuple[str, ast.expr | None]]:
    """``(field, value)`` for every ``self.<field> = value`` of a statement."""
    if isinstance(stmt, ast.Assign):
        for target in stmt.targets:
            if isinstance(target, ast.Attribute) and getattr(target.value, "id", None) == "self":
                yield target.attr, stmt.value
    elif isinstance(stmt, ast.AnnAssign):
        target = stmt.target
        if isinstance(target, ast.Attribute) and getattr(target.value, "id", None) == "self":
            yield target.attr, stmt.value


def assigned(node: ast.FunctionDef, field: str) -> bool:
    """A top-level statement assigns ``self.<field> = <field>`` (a branch may not run)."""
    return any(f == field and kept_value(v, field) for stmt in node.body for f, v in self_targets(stmt))


def forwarded(node: ast.FunctionDef, field: str) -> bool:
    """A top-level ``super().__init__(<field>=<field>)``."""
    for stmt in node.body:
        if isinstance(stmt, ast.Expr) and is_super_init(stmt.value):
            assert isinstance(stmt.value, ast.Call)
            if any(k.arg == field and kept_value(k.value, field) for k in stmt.value.keywords):
                return True
    return False


def assignment_findings(cls: type) -> list[str]:
    """Rule 1: each template field is assigned as given by the ``__init__`` that takes it."""
    findings = []
    for field in cls.template_fields:  # type: ignore[attr-defined]
        owner = None
        for klass in cls.__mro__:
            node = init_node(klass)
            if node is None or field not in params(node):
                continue
            if forwarded(node, field):
                continue  # the next __init__ up the MRO that takes it must assign it
            owner = klass
            if not assigned(node, field):
                findings.append(f"{klass.__qualname__}.__init__ does not assign self.{field} = {field}")
            break
        if owner is None:
            findings.append(f"{cls.__qualname__}: no __init__ in its MRO takes and assigns {field!r}")
    for klass in cls.__mro__:
        node = init_node(klass)
        if node is None or not klass.__module__.startswith(PACKAGE):
            continue
        for stmt in ast.walk(node):
            if not isinstance(stmt, ast.stmt):
                continue
            for field, value in self_targets(stmt):
                if field in cls.template_fields and not kept_value(value, field):  # type: ignore[attr-defined]
                    findings.append(f"{klass.__qualname__}.__init__ assigns self.{field} something else than {field}")
    return sorted(set(findings))


def read_findings(cls: type) -> list[str]:
    """Rule 2: ``__init__`` reads no template field outside the sanctioned forms."""
    findings = []
    fields = set(cls.template_fields)  # type: ignore[attr-defined]
    for klass in cls.__mro__:
        node = init_node(klass)
        if node is None or not klass.__module__.startswith(PACKAGE):
            continue
        sanctioned: set[int] = set()
        for sub in ast.walk(node):
            if isinstance(sub, ast.stmt):
                for field, value in self_targets(sub):
                    if field in fields and (name := kept_value(value, field)) is not None:
                        sanctioned.add(id(name))
            if is_super_init(sub):
                assert isinstance(sub, ast.Call)
                for k in sub.keywords:
                    if k.arg in fields and (name := kept_value(k.value, k.arg)) is not None:
                        sanctioned.add(id(name))
            if is_none_check(sub):
                assert isinstance(sub, ast.Compare)
                sanctioned.add(id(sub.left))
        bound = params(node) | {
            n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
        }
        in_defaults = {id(n) for d in (*node.args.defaults, *node.args.kw_defaults) if d for n in ast.walk(d)}
        for sub in ast.walk(node):
            if id(sub) in in_defaults or id(sub) in sanctioned:
                continue
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Load) and sub.id in fields and sub.id in bound:
                findings.append(f"{klass.__qualname__}.__init__ line {sub.lineno} reads {sub.id}")
            elif (
                isinstance(sub, ast.Attribute)
                and isinstance(sub.ctx, ast.Load)
                and getattr(sub.value, "id", None) == "self"
                and sub.attr in fields
            ):
                findings.append(f"{klass.__qualname__}.__init__ line {sub.lineno} reads self.{sub.attr}")
    return sorted(set(findings))


def test_every_operator_and_sensor_is_checked() -> None:
    names = {c.__qualname__ for c in OPERATORS}
    assert {
        "PipelineRegistryBaseOperator",
        "PipelineRegistryBaseSensor",
        "LoadPipelineConfigOperator",
        "StartPipelineRunOperator",
        "EndPipelineRunOperator",
        "PipelineRunStateSensor",
    } <= names
    for cls in OPERATORS:
        assert {"aws_conn_id", "region_name", "table_prefix"} <= set(cls.template_fields), cls
        base = operator_base.PipelineRegistryBaseOperator
        assert issubclass(cls, (base, sensor_base.PipelineRegistryBaseSensor)), cls


@pytest.mark.parametrize("cls", OPERATORS, ids=lambda c: c.__qualname__)
def test_the_connection_arguments_are_declared_once_in_the_base_classes(cls: type) -> None:
    """Only the two base classes' ``__init__`` take the connection arguments; a concrete operator or
    sensor declares its own arguments and passes the rest on (amazon's AwsBaseOperator shape)."""
    connection_args = {"aws_conn_id", "region_name", "table_prefix", "user_timezone", "verify", "botocore_config"}
    bases = {"PipelineRegistryBaseOperator", "PipelineRegistryBaseSensor"}
    for klass in cls.__mro__:
        node = init_node(klass)
        if node is None:
            continue
        if klass.__qualname__ in bases:
            assert connection_args <= params(node), klass
        else:
            assert not connection_args & params(node), f"{klass.__qualname__} declares {connection_args & params(node)}"


@pytest.mark.parametrize("cls", OPERATORS, ids=lambda c: c.__qualname__)
def test_template_fields_are_assigned_in_init(cls: type) -> None:
    assert assignment_findings(cls) == []


def exempt(finding: str) -> bool:
    owner, field = finding.split(".__init__", 1)[0], finding.rsplit(" ", 1)[1]
    return (owner, field.removeprefix("self.")) in EXEMPT_READS


@pytest.mark.parametrize("cls", OPERATORS, ids=lambda c: c.__qualname__)
def test_init_reads_no_template_field(cls: type) -> None:
    assert [f for f in read_findings(cls) if not exempt(f)] == []


def test_no_stale_exemption() -> None:
    found = {f for cls in OPERATORS for f in read_findings(cls) if exempt(f)}
    assert {(f.split(".__init__", 1)[0], f.rsplit(" ", 1)[1]) for f in found} == EXEMPT_READS


def test_the_checks_catch_what_airflow_catches() -> None:
    """The checker itself: a field stored by a helper, a transformed field and a validated one are found."""

    class Helper(BaseOperator):
        template_fields = ("a", "b", "c")

        def __init__(self, *, a: str, b: str, c: str | None = None, **kwargs: object) -> None:
            super().__init__(**kwargs)
            if c is not None and "{{" not in c:
                c.upper()
            self.store(a)
            self.b = b.strip()
            self.c = c

        def store(self, a: str) -> None:
            self.a = a

    Helper.__module__ = PACKAGE + ".tests"
    assert assignment_findings(Helper) == [
        "test_the_checks_catch_what_airflow_catches.<locals>.Helper.__init__ assigns self.b something else than b",
        "test_the_checks_catch_what_airflow_catches.<locals>.Helper.__init__ does not assign self.a = a",
        "test_the_checks_catch_what_airflow_catches.<locals>.Helper.__init__ does not assign self.b = b",
    ]
    reads = read_findings(Helper)
    # ``c is not None`` is allowed; its two other reads, ``self.store(a)`` and ``b.strip()`` are not
    assert sorted(r.rsplit(" ", 1)[1] for r in reads) == ["a", "b", "c", "c"]
