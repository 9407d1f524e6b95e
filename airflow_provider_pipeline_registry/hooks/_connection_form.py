"""The connection form for Airflow < 3.2, derived from the provider's identity (one declaration).

Airflow 3.2+ builds the ``pipeline_registry`` connection form from the provider info's
``connection-types[].conn-fields`` and ``ui-field-behaviour``. Airflow 2.11 (and 3.0/3.1) ignore
those and call the hook's ``get_connection_form_widgets()`` / ``get_ui_field_behaviour()``
instead: these functions turn the same declaration into what those versions expect (wtforms
fields with Flask-AppBuilder widgets, and the snake_case behaviour dict). wtforms and
Flask-AppBuilder are imported only when called (the webserver has them).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from ..provider_identity import UI_FIELD_BEHAVIOUR, conn_fields


def _connection_type() -> Mapping[str, Any]:
    """The connection type's form, as the provider info declares it (``conn-fields``, ``ui-field-behaviour``)."""
    return {"conn-fields": conn_fields(), "ui-field-behaviour": UI_FIELD_BEHAVIOUR}


def _types(schema: Mapping[str, Any]) -> set[str]:
    declared = schema.get("type", "string")
    return {declared} if isinstance(declared, str) else set(declared)


class _NumberIn:
    """wtforms validator: the value is a number within the JSON-schema bounds given (all optional)."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        self.bounds: list[tuple[str, float, Callable[[float, float], bool]]] = [
            (f"{text} {schema[key]}", float(schema[key]), check)
            for key, text, check in (
                ("minimum", "at least", lambda value, bound: value >= bound),
                ("exclusiveMinimum", "more than", lambda value, bound: value > bound),
                ("maximum", "at most", lambda value, bound: value <= bound),
                ("exclusiveMaximum", "less than", lambda value, bound: value < bound),
            )
            if isinstance(schema.get(key), int | float)
        ]

    def __call__(self, form: Any, field: Any) -> None:
        from wtforms.validators import ValidationError as FormValidationError

        if field.data is None:  # an IntegerField that could not parse the text has said so already
            return
        try:
            value = float(str(field.data).strip())
        except ValueError:
            raise FormValidationError("must be a number") from None
        if not math.isfinite(value):
            raise FormValidationError("must be a finite number")
        for text, bound, check in self.bounds:
            if not check(value, bound):
                raise FormValidationError(f"must be {text}")


def _widget(field: Mapping[str, Any]) -> Any:
    """One ``conn-fields`` entry as an (unbound) wtforms field of a class Airflow accepts."""
    from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget, BS3TextFieldWidget
    from wtforms import BooleanField, IntegerField, PasswordField, StringField
    from wtforms.validators import URL, AnyOf, Optional, Regexp

    schema: Mapping[str, Any] = field.get("schema", {})
    types = _types(schema)
    validators: list[Any] = [Optional()]
    options: dict[str, Any] = {"description": field.get("description", "")}
    if schema.get("default") is not None:
        options["default"] = schema["default"]
    label = field.get("label", "")
    if "boolean" in types:
        return BooleanField(label, validators=validators, **options)
    if "integer" in types:
        validators.append(_NumberIn(schema))
        return IntegerField(label, widget=BS3TextFieldWidget(), validators=validators, **options)
    if "number" in types:
        validators.append(_NumberIn(schema))
    if schema.get("enum") is not None:
        validators.append(AnyOf([value for value in schema["enum"] if value is not None]))
    if schema.get("pattern"):
        validators.append(Regexp(re.compile(schema["pattern"])))
    if schema.get("format") == "url":
        validators.append(URL(require_tld=False))
    if schema.get("format") == "password":
        return PasswordField(label, widget=BS3PasswordFieldWidget(), validators=validators, **options)
    return StringField(label, widget=BS3TextFieldWidget(), validators=validators, **options)


def connection_form_widgets() -> dict[str, Any]:
    """``{extra name: wtforms field}`` from the provider info's ``conn-fields`` (for Airflow < 3.2)."""
    fields: Mapping[str, Mapping[str, Any]] = _connection_type().get("conn-fields", {})
    return {name: _widget(field) for name, field in fields.items()}


def ui_field_behaviour() -> dict[str, Any]:
    """The provider info's ``ui-field-behaviour`` with the snake_case keys Airflow < 3.2 expects."""
    behaviour: Mapping[str, Any] = _connection_type().get("ui-field-behaviour", {})
    return {
        "hidden_fields": list(behaviour.get("hidden-fields", [])),
        "relabeling": dict(behaviour.get("relabeling", {})),
        "placeholders": dict(behaviour.get("placeholders", {})),
    }
