"""What may be shown: the one redaction of the package (UI, API, CLI, task logs, XCom, errors).

It follows Airflow's secrets masker (``airflow._shared.secrets_masker``) without importing Airflow:

* **Sensitive key names.** A value is hidden when its key, lowercased with every run of non-word
  characters turned into ``_`` (``spark.hadoop.fs.s3a.secret.key`` -> ``spark_hadoop_fs_s3a_secret_key``),
  contains one of :data:`AIRFLOW_SENSITIVE_NAMES` (Airflow's ``DEFAULT_SENSITIVE_FIELDS``, copied
  as data), :data:`EXTRA_SENSITIVE_NAMES`, or a name added with :func:`add_sensitive_names` (the
  Airflow face adds ``[core] sensitive_var_conn_names``). camelCase keys are also read split
  (``accessKeyId`` -> ``access_key_id``). Everything under a hidden key is hidden, at any depth.
* **Text.** In any other string: URL userinfo (``s3://AKIA...:secret@bucket`` ->
  ``s3://***@bucket``), ``name=value`` pairs whose name is sensitive (``?password=``,
  ``;password=``, ``token=``...), quoted JSON pairs (``"password": "..."``), and AWS credentials
  (access key ids, SigV4 ``Credential=``/``Signature=``, session tokens).
* **Command-line arguments.** The value after a sensitive flag (``--db-password xyz``) or after its
  ``=`` (``--db-password=xyz``); ``key=value`` arguments (``--conf spark.x.secret=...``) as text.

Hidden values become Airflow's ``***``. Nothing here changes what is stored or what a Spark job
receives: these functions return redacted copies for display.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeGuard, TypeVar

if TYPE_CHECKING:
    from pydantic import BaseModel

MASK = "***"

#: Airflow's ``DEFAULT_SENSITIVE_FIELDS`` (airflow/_shared/secrets_masker, Airflow 3.3; a test
#: checks this set still contains Airflow's own list whenever Airflow is importable)
AIRFLOW_SENSITIVE_NAMES: frozenset[str] = frozenset(
    {
        "access_key",
        "access_token",
        "api_key",
        "apikey",
        "auth_header",
        "authorization",
        "bearer",
        "connection_string",
        "dsn",
        "passphrase",
        "passwd",
        "password",
        "private_key",
        "proxy",
        "proxy_password",
        "proxies",
        "secret",
        "service_account",
        "service_key",
        "token",
        "keyfile_dict",
        "webhook_url",
    }
)

#: names hidden on top of Airflow's: ODBC/JDBC ``pwd``, Azure storage ``account.key``
EXTRA_SENSITIVE_NAMES: frozenset[str] = frozenset({"pwd", "account_key"})

_added_names: set[str] = set()

T = TypeVar("T")
M = TypeVar("M", bound="BaseModel")


def _is_model(value: object) -> TypeGuard[BaseModel]:
    """Whether ``value`` is a pydantic model, without importing pydantic: a process that never
    imported it (the CLI's ``--help``, whose errors redact their text) holds no model."""
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(value, pydantic.BaseModel)


def _split_names(names: Iterable[str] | str | None) -> set[str]:
    if not names:
        return set()
    items = names.split(",") if isinstance(names, str) else names
    return {_normalize(n) for n in items if n and n.strip()}


def add_sensitive_names(names: Iterable[str] | str | None) -> None:
    """Hide values under these names too, in this process (a comma-separated string works, as
    Airflow's ``[core] sensitive_var_conn_names`` is written)."""
    _added_names.update(_split_names(names))


def sensitive_names(extra_names: Iterable[str] | str | None = None) -> frozenset[str]:
    """Every name hidden: Airflow's, ours, the added ones and ``extra_names``."""
    return AIRFLOW_SENSITIVE_NAMES | EXTRA_SENSITIVE_NAMES | _added_names | _split_names(extra_names)


def _normalize(name: str) -> str:
    return re.sub(r"\W+", "_", name.strip().lower())


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def is_sensitive_key(key: object, extra_names: Iterable[str] | str | None = None) -> bool:
    """Whether a value under ``key`` is hidden (Airflow's ``should_hide_value_for_key`` rule)."""
    if not isinstance(key, str) or not key.strip():
        return False
    forms = {_normalize(key), _normalize(_CAMEL.sub("_", key.strip()))}
    names = sensitive_names(extra_names)
    return any(name in form for form in forms for name in names)


# -- text -----------------------------------------------------------------------------------------
#: AWS credentials in free text (what errors.redact masked before this module existed)
_AWS_PATTERNS = (
    re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA)[A-Z0-9]{12,}\b"),
    re.compile(r"(Credential=)[^,\s]+", re.IGNORECASE),
    re.compile(r"(Signature=)[0-9a-f]+", re.IGNORECASE),
    re.compile(r"(X-Amz-Security-Token[=:]\s*)\S+", re.IGNORECASE),
    re.compile(r"(aws_secret_access_key[\"']?\s*[=:]\s*[\"']?)[^\s\"',]+", re.IGNORECASE),
    re.compile(r"(aws_session_token[\"']?\s*[=:]\s*[\"']?)[^\s\"',]+", re.IGNORECASE),
)
_SCHEME = r"[A-Za-z][A-Za-z0-9+.\-]*://"
#: ``scheme://user:password@`` (the password may hold ``/``, ``+``, ``@``: up to the last ``@`` of the token)
_USERINFO_WITH_PASSWORD = re.compile(rf"({_SCHEME})([^\s/?#@:\"'<>]*:[^\s\"'<>]*)@")
#: ``scheme://user@``
_USERINFO = re.compile(rf"({_SCHEME})([^\s/?#@:\"'<>]+)@")
#: ``name=value``: quoted, braced (``{a;b}``, SQL Server JDBC) or up to a separator
_PAIR = re.compile(
    r"(?<![\w.\-])(?P<name>[\w.\-]+)(?P<sep>\s*=\s*)"
    r"(?P<value>\"[^\"]*\"|'[^']*'|\{[^}]*\}|[^\s&;,\"'<>)\]}]+)"
)
#: ``"name": "value"`` (JSON in a message)
_JSON_PAIR = re.compile(
    r"(?P<q>[\"'])(?P<name>[\w.\-]+)(?P=q)(?P<sep>\s*:\s*)(?P<value>\"[^\"]*\"|'[^']*'|[\w.\-+/=]+)"
)


def _quoted_mask(value: str) -> str:
    if len(value) >= 2 and value[0] in "\"'{" and value[-1] in "\"'}":
        return value[0] + MASK + value[-1]
    return MASK


def _text(text: str, extra: Iterable[str] | str | None, found: list[str] | None) -> str:
    def userinfo(match: re.Match[str]) -> str:
        if match.group(2) == MASK:
            return match.group(0)
        if found is not None:
            user, _, password = match.group(2).partition(":")
            found.extend(p for p in (password, user if _AWS_PATTERNS[0].fullmatch(user) else "") if p)
        return f"{match.group(1)}{MASK}@"

    def pair(match: re.Match[str]) -> str:
        value = match.group("value")
        if not is_sensitive_key(match.group("name"), extra) or _quoted_mask(value) == value:
            return match.group(0)
        if found is not None:
            inner = value[1:-1] if _quoted_mask(value) != MASK else value
            if inner:
                found.append(inner)
        return f"{match.group('name')}{match.group('sep')}{_quoted_mask(value)}"

    def json_pair(match: re.Match[str]) -> str:
        value = match.group("value")
        if not is_sensitive_key(match.group("name"), extra) or _quoted_mask(value) == value:
            return match.group(0)
        if found is not None:
            found.append(value.strip("\"'"))
        return f"{match.group('q')}{match.group('name')}{match.group('q')}{match.group('sep')}{_quoted_mask(value)}"

    text = _USERINFO_WITH_PASSWORD.sub(userinfo, text)
    text = _USERINFO.sub(userinfo, text)
    text = _JSON_PAIR.sub(json_pair, text)
    text = _PAIR.sub(pair, text)
    for pattern in _AWS_PATTERNS:

        def aws(match: re.Match[str]) -> str:
            if found is not None:
                found.append(match.group(0)[len(match.group(1)) :] if match.re.groups else match.group(0))
            return (match.group(1) if match.re.groups else "") + MASK

        text = pattern.sub(aws, text)
    return text


def redact_text(text: str, *, extra_names: Iterable[str] | str | None = None) -> str:
    """``text`` with URL userinfo, sensitive ``name=value`` pairs and AWS credentials masked."""
    return _text(text, extra_names, None)


# -- arguments, values, mappings ------------------------------------------------------------------
def _args(args: Iterable[Any], extra: Iterable[str] | str | None, found: list[str] | None) -> list[Any]:
    out: list[Any] = []
    hide_next = False
    for arg in args:
        if not isinstance(arg, str):
            out.append(_value(None, arg, extra, found))
            hide_next = False
            continue
        if hide_next and not arg.startswith("--"):
            hide_next = False
            if arg and arg != MASK:
                if found is not None:
                    found.append(arg)
                out.append(MASK)
            else:
                out.append(arg)
            continue
        hide_next = False
        if arg.startswith("-") and len(arg) > 1:
            flag, equals, value = arg.partition("=")
            if is_sensitive_key(flag.lstrip("-"), extra):
                if not equals:
                    hide_next = True
                    out.append(arg)
                    continue
                if value and value != MASK:
                    if found is not None:
                        found.append(value)
                    out.append(f"{flag}={MASK}")
                else:
                    out.append(arg)
                continue
        out.append(_text(arg, extra, found))
    return out


def _hide_all(value: Any, found: list[str] | None) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, Mapping):
        return {k: _hide_all(v, found) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_hide_all(v, found) for v in value]
    if _is_model(value):
        return _hide_all(value.model_dump(), found)
    text = str(value)
    if not text or text == MASK:
        return text
    if found is not None and isinstance(value, str):  # a number is shown masked, not masked in every log line
        found.append(text)
    return MASK


def _value(key: object, value: Any, extra: Iterable[str] | str | None, found: list[str] | None) -> Any:
    if key is not None and is_sensitive_key(key, extra):
        return _hide_all(value, found)
    if isinstance(value, Mapping):
        return {k: _value(str(k), v, extra, found) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return _args(value, extra, found)
    if isinstance(value, str):
        return _text(value, extra, found)
    if _is_model(value):
        return _model(value, extra, found)
    return value


def redact_value(key: str | None, value: T, *, extra_names: Iterable[str] | str | None = None) -> T:
    """``value`` (found under ``key``) as it may be shown: hidden entirely under a sensitive key,
    else walked (mappings by key, lists as arguments, strings as text). Lists come back as lists."""
    result: T = _value(key, value, extra_names, None)
    return result


def redact_mapping(mapping: Mapping[str, Any], *, extra_names: Iterable[str] | str | None = None) -> dict[str, Any]:
    """A copy of ``mapping`` with every sensitive value hidden, at any depth."""
    return {k: _value(str(k), v, extra_names, None) for k, v in mapping.items()}


def redact_args(args: Iterable[Any], *, extra_names: Iterable[str] | str | None = None) -> list[Any]:
    """Command-line arguments as they may be shown (the value after a sensitive flag is hidden)."""
    return _args(args, extra_names, None)


def _model(model: M, extra: Iterable[str] | str | None, found: list[str] | None) -> M:
    changed: dict[str, Any] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if _is_model(value):
            shown: Any = _model(value, extra, found)
        elif isinstance(value, list) and any(_is_model(v) for v in value):
            shown = [_model(v, extra, found) if _is_model(v) else _value(None, v, extra, found) for v in value]
        else:
            shown = _value(name, value, extra, found)
        if shown is not value and shown != value:
            changed[name] = shown
    return model.model_copy(update=changed) if changed else model


def redact_model(model: M, *, extra_names: Iterable[str] | str | None = None) -> M:
    """A copy of a pydantic model (a view) whose fields hold what may be shown (not validated
    again: a hidden number reads ``***``)."""
    return _model(model, extra_names, None)


def secret_values(key: str | None, value: Any, *, extra_names: Iterable[str] | str | None = None) -> list[str]:
    """The strings :func:`redact_value` would hide in ``value``: what to hand to Airflow's
    ``mask_secret`` so that its log masker hides them wherever they turn up."""
    found: list[str] = []
    _value(key, value, extra_names, found)
    return list(dict.fromkeys(s for s in found if s and s != MASK))


_LOOKS_REDACTED = re.compile(rf"(?:^|://|=\s*[\"'{{]?){re.escape(MASK)}(?:$|[\"'}}@&;,\s])")


def looks_redacted(value: object) -> bool:
    """Whether ``value`` holds a masked value as this module writes it (``***``, ``s3://***@``,
    ``password=***``): e.g. a redacted export being imported back."""
    return isinstance(value, str) and bool(_LOOKS_REDACTED.search(value))


__all__ = [
    "AIRFLOW_SENSITIVE_NAMES",
    "EXTRA_SENSITIVE_NAMES",
    "MASK",
    "add_sensitive_names",
    "is_sensitive_key",
    "looks_redacted",
    "redact_args",
    "redact_mapping",
    "redact_model",
    "redact_text",
    "redact_value",
    "secret_values",
    "sensitive_names",
]
