"""The hook class (imports boto3 through ``AwsBaseHook``; import it via :mod:`.pipeline_registry`)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from datetime import tzinfo
from functools import cached_property
from typing import TYPE_CHECKING, Any, Unpack

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from ..provider_identity import CONN_NAME_ATTR, HOOK_NAME
from ..registry.config import DynamoDBConfig
from ..registry.errors import AccessDeniedError, ConfigurationError, RegistryError, redact
from ..registry.facade import Registry
from ..registry.settings import SETTINGS_BY_HOOK_ARG, RegistrySettingArgs, hook_args_of, settings_from_hook_args
from ..registry.tables import TABLE_WAIT_SECONDS
from ..utils.compat import AIRFLOW_V_3_2_PLUS
from .pipeline_registry import CONN_TYPE, DEFAULT_CONN_ID, registry_settings_from_extras

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.utils.connection_wrapper import AwsConnectionWrapper

    from ..registry.gateway import DynamoDBClient
    from ..registry.pipeline_config import PipelineConfigReadApi, PipelineConfigWriteApi
    from ..registry.run_logs import PipelineRunLogsReadApi, PipelineRunLogsWriteApi
    from ..registry.table_config import TableConfigReadApi, TableConfigWriteApi

#: connection pool size of the one DynamoDB client (the APIs share it across threads)
MAX_POOL_CONNECTIONS = 32


def botocore_config_to_dict(config: Config | None) -> dict[str, Any] | None:
    """The options explicitly set on a botocore ``Config``, JSON-friendly (``UNSIGNED`` -> ``"unsigned"``)."""
    if config is None:
        return None
    options: dict[str, Any] = dict(getattr(config, "_user_provided_options", {}) or {})
    if not options:  # a Config built without tracking: keep what differs from the defaults
        options = {
            name: getattr(config, name)
            for name, default in Config.OPTION_DEFAULTS.items()
            if getattr(config, name, default) != default
        }
    if options.get("signature_version") is UNSIGNED:
        options["signature_version"] = "unsigned"
    return options


def _botocore_config_from(value: Config | Mapping[str, Any] | None) -> Config | None:
    if value is None or isinstance(value, Config):
        return value
    options = dict(value)
    if options.get("signature_version") == "unsigned":
        options["signature_version"] = UNSIGNED
    return Config(**options)


class PipelineRegistryHook(AwsBaseHook):
    """Access to the pipeline registry (pipeline config, table config, run logs) in DynamoDB.

    Credentials, region, ``endpoint_url``, role assumption and profiles come from an ``aws``
    connection, exactly as for the amazon provider's hooks. Registry settings (declared once in
    :data:`~airflow_provider_pipeline_registry.registry.settings.SETTINGS`: ``table_prefix``,
    ``environment``, ``user_timezone``, the table names, timeouts, retries, run-log retention) come
    from the connection's extras; constructor arguments of the same names override them, and
    ``DYNAMODB_*`` environment variables fill in what neither sets.

    The six APIs share one boto3 DynamoDB client with bounded connect/read timeouts and botocore's
    standard (or adaptive) retries (``max_attempts``, ``retry_mode``).

    :param aws_conn_id: the Airflow connection (type ``aws``, or this provider's
        ``pipeline_registry`` type); None uses the default boto3 credential chain.
    :param verify: TLS verification (bool or CA bundle path); None: the connection's.
    :param config: botocore ``Config`` (or its options as a dict); None: the connection's.
    :param settings: registry settings by their hook argument names (see
        :class:`~airflow_provider_pipeline_registry.registry.settings.RegistrySettingArgs`), e.g.
        ``region_name`` (overrides the connection's ``region_name`` extra), ``endpoint_url``
        (overrides the connection's), ``table_prefix``, ``max_attempts``; None: not given.
    """

    conn_name_attr = CONN_NAME_ATTR
    default_conn_name = DEFAULT_CONN_ID
    conn_type = CONN_TYPE
    hook_name = HOOK_NAME

    if not AIRFLOW_V_3_2_PLUS:  # pragma: no cover - Airflow 3.2+ reads the form from the provider info
        # Airflow 2.11 to 3.1 build the connection form from these (3.2+ would warn they are deprecated)

        @classmethod
        def get_connection_form_widgets(cls) -> dict[str, Any]:
            """The connection form's fields: the provider info's ``conn-fields``, as wtforms fields."""
            from ._connection_form import connection_form_widgets

            return connection_form_widgets()

        @classmethod
        def get_ui_field_behaviour(cls) -> dict[str, Any]:
            """Hidden, relabelled and placeholder fields: the provider info's ``ui-field-behaviour``."""
            from ._connection_form import ui_field_behaviour

            return ui_field_behaviour()

    def __init__(
        self,
        *,
        aws_conn_id: str | None = DEFAULT_CONN_ID,
        verify: bool | str | None = None,
        config: Config | Mapping[str, Any] | None = None,
        client_type: str | None = None,
        resource_type: str | None = None,
        **settings: Unpack[RegistrySettingArgs],
    ) -> None:
        if client_type not in (None, "dynamodb") or resource_type is not None:
            raise ConfigurationError("PipelineRegistryHook always uses the 'dynamodb' client")
        unknown = sorted(set(settings) - set(SETTINGS_BY_HOOK_ARG))
        if unknown:
            raise TypeError(f"PipelineRegistryHook got unexpected keyword arguments: {', '.join(unknown)}")
        super().__init__(
            aws_conn_id=aws_conn_id,
            region_name=settings.get("region_name"),
            verify=verify,
            config=_botocore_config_from(config),
            client_type="dynamodb",
        )
        #: registry settings given to the constructor (DynamoDBConfig field -> value; None: not given)
        self._registry_overrides: dict[str, Any] = settings_from_hook_args(settings)

    def __repr__(self) -> str:
        parts = [f"aws_conn_id={self.aws_conn_id!r}"]
        config: DynamoDBConfig | None = self.__dict__.get("registry_config")
        if config is not None:
            parts += [
                f"region={config.region!r}",
                f"endpoint_url={config.endpoint_url!r}",
                f"table_prefix={config.effective_prefix!r}",
            ]
        else:
            parts += [f"{k}={v!r}" for k, v in self._registry_overrides.items()]
        return f"{type(self).__name__}({', '.join(parts)})"

    # -- configuration -------------------------------------------------------------------------
    @cached_property
    def conn_config(self) -> AwsConnectionWrapper:
        """The wrapped Airflow connection; a ``pipeline_registry`` connection counts as ``aws``.

        A connection the user named (any id but :data:`DEFAULT_CONN_ID`) must exist: a missing one
        is a :class:`ConfigurationError` naming it. The amazon provider would log "Unable to find
        AWS Connection ID" and go on with boto3's default credential chain, AWS's endpoint and no
        table prefix: a dev DAG could write into production tables. Only ``aws_default`` keeps that
        fallback (as every amazon hook; no connection there means the environment's credentials),
        and ``aws_conn_id=None`` asks for the credential chain explicitly.
        """
        with warnings.catch_warnings():
            # AwsConnectionWrapper warns for any type but 'aws'; ours is an aws connection with a form
            warnings.filterwarnings("ignore", message=f".*expected connection type 'aws', got '{CONN_TYPE}'")
            if not self.aws_conn_id or self.aws_conn_id == DEFAULT_CONN_ID:
                return AwsBaseHook.conn_config.func(self)  # type: ignore[attr-defined,no-any-return]
            return self._named_conn_config(self.aws_conn_id)

    def _named_conn_config(self, conn_id: str) -> AwsConnectionWrapper:
        """The wrapper of the named connection ``conn_id``, which must exist (see :attr:`conn_config`)."""
        from airflow.providers.amazon.aws.utils.connection_wrapper import AwsConnectionWrapper
        from airflow.providers.common.compat.sdk import AirflowNotFoundException

        try:
            connection = self.get_connection(conn_id)
        except AirflowNotFoundException:
            raise ConfigurationError(
                f"the Airflow connection {conn_id!r} (aws_conn_id) does not exist: define it, or pass "
                f"aws_conn_id={DEFAULT_CONN_ID!r} or None to use the default AWS credential chain",
                operation="get_connection",
            ) from None
        except ImportError as exc:
            if "SUPERVISOR_COMMS" not in str(exc):
                raise
            # the Task SDK outside a task has no supervisor to ask: amazon goes on without the
            # connection here too; a named one is refused as if missing
            raise ConfigurationError(
                f"the Airflow connection {conn_id!r} (aws_conn_id) cannot be read in this process "
                "(no Task SDK supervisor): define it in the environment (AIRFLOW_CONN_...) or a secrets backend",
                operation="get_connection",
            ) from None
        return AwsConnectionWrapper(
            conn=connection, region_name=self._region_name, botocore_config=self._config, verify=self._verify
        )

    @cached_property
    def registry_config(self) -> DynamoDBConfig:
        """Registry settings: constructor > connection extras > ``DYNAMODB_*`` env > defaults."""
        settings = registry_settings_from_extras(self.conn_config.extra_config)
        region = self.region_name
        if region:
            settings["region"] = region
        endpoint = self.conn_config.get_service_endpoint_url(service_name="dynamodb")
        if endpoint:
            settings["endpoint_url"] = endpoint
        settings.update(self._registry_overrides)
        try:
            return DynamoDBConfig.from_env(**settings)
        except ConfigurationError as exc:
            raise ConfigurationError(
                f"connection {self.aws_conn_id!r} has invalid registry settings: {exc.message}"
            ) from None

    @property
    def user_timezone(self) -> tzinfo:
        """Display timezone: constructor > extra ``user_timezone`` > ``DYNAMODB_USER_TIMEZONE`` > UTC."""
        return self.registry_config.tzinfo

    def client_config(self, config: Config | None = None) -> Config:
        """The botocore config of the DynamoDB client.

        Registry timeouts first, then the connection's (or the given) botocore config on top;
        retries are always the registry's: botocore's ``retry_mode`` with ``max_attempts``.
        """
        registry = self.registry_config
        base = Config(
            connect_timeout=registry.connect_timeout,
            read_timeout=registry.read_timeout,
            max_pool_connections=MAX_POOL_CONNECTIONS,
        )
        user = config if config is not None else self.conn_config.botocore_config
        merged = base.merge(user) if user is not None else base
        from ..registry.gateway import botocore_config  # boto3: imported only when a client is built

        return botocore_config(registry, base=merged)  # botocore's retry_mode, max_attempts in all

    # -- client and APIs -------------------------------------------------------------------------
    def get_client_type(
        self,
        region_name: str | None = None,
        config: Config | None = None,
        deferrable: bool = False,
    ) -> Any:
        """The DynamoDB client at the registry's endpoint with bounded timeouts (sync or aiobotocore)."""
        import boto3

        registry = self.registry_config
        region = region_name or registry.region
        try:
            session = self.get_session(region_name=region, deferrable=deferrable)
            params: dict[str, Any] = {
                "service_name": "dynamodb",
                "region_name": region,
                "endpoint_url": registry.endpoint_url,
                "config": self._get_config(self.client_config(config)),
                "verify": self.verify,
            }
            if not isinstance(session, boto3.session.Session):
                return session.create_client(**params)
            self.log.debug(
                "DynamoDB client for the registry at %s (%s)", registry.endpoint_url or "AWS", registry.region
            )
            return session.client(**params)
        except NoCredentialsError:
            raise AccessDeniedError(
                f"no AWS credentials for connection {self.aws_conn_id!r}", operation="create_client"
            ) from None
        except (BotoCoreError, ClientError) as exc:
            raise RegistryError(
                f"cannot create the DynamoDB client for connection {self.aws_conn_id!r}: {type(exc).__name__}: {exc}",
                operation="create_client",
            ) from None

    @cached_property
    def registry(self) -> Registry:
        """The registry over this hook's one DynamoDB client (``self.conn``)."""
        client: DynamoDBClient = self.conn
        return Registry(self.registry_config, client=client)

    @property
    def pipelines(self) -> PipelineConfigReadApi:
        """Read API of pipeline config."""
        return self.registry.pipelines

    @property
    def pipelines_write(self) -> PipelineConfigWriteApi:
        """Write API of pipeline config."""
        return self.registry.pipelines_write

    @property
    def tables(self) -> TableConfigReadApi:
        """Read API of table config."""
        return self.registry.tables

    @property
    def tables_write(self) -> TableConfigWriteApi:
        """Write API of table config."""
        return self.registry.tables_write

    @property
    def runs(self) -> PipelineRunLogsReadApi:
        """Read API of pipeline run logs."""
        return self.registry.runs

    @property
    def runs_write(self) -> PipelineRunLogsWriteApi:
        """Write API of pipeline run logs (start, heartbeat, finish, cancel)."""
        return self.registry.runs_write

    # -- administration --------------------------------------------------------------------------
    def test_connection(self) -> tuple[bool, str]:
        """Whether the registry tables exist and are ACTIVE; the message names missing ones."""
        try:
            config = self.registry_config
            status = self.registry.tables_status()
        except Exception as exc:
            return False, redact(f"{type(exc).__name__}: {exc}")
        where = f"at {config.endpoint_url or 'AWS'} ({config.region})"
        missing = [name for name, state in status.items() if state is None]
        inactive = [f"{name} ({state})" for name, state in status.items() if state not in (None, "ACTIVE")]
        if not missing and not inactive:
            return True, f"registry tables ACTIVE {where}: {', '.join(status)}"
        problems = []
        if missing:
            problems.append(
                f"missing tables: {', '.join(missing)} (create them with PipelineRegistryHook.create_tables() "
                "or `pipeline-registry tables create`)"
            )
        if inactive:
            problems.append(f"tables not ACTIVE: {', '.join(inactive)}")
        return False, f"{'; '.join(problems)} {where}"

    def create_tables(self, *, timeout: float = TABLE_WAIT_SECONDS) -> dict[str, bool]:
        """Create the missing registry tables and wait until ACTIVE; ``{table_name: created}``."""
        created = self.registry.create_tables(timeout=timeout)
        for name, was_created in created.items():
            self.log.info("registry table %s %s", name, "created" if was_created else "already exists")
        return created

    def describe_registry(self) -> dict[str, Any]:
        """Table names, endpoint, region, user timezone, timeouts; never credentials."""
        config = self.registry_config
        description = config.describe()
        description.update(
            aws_conn_id=self.aws_conn_id,
            connect_timeout=config.connect_timeout,
            read_timeout=config.read_timeout,
            max_attempts=config.max_attempts,
        )
        return description

    def trigger_kwargs(self) -> dict[str, Any]:
        """Constructor arguments that rebuild an equivalent hook in the triggerer (no credentials).

        The connection id (credentials are read again there), ``verify``, the botocore config as a
        dict, and every declared registry setting as resolved here (so the triggerer's own
        environment variables cannot change which tables it reads).
        """
        return {
            "aws_conn_id": self.aws_conn_id,
            "verify": self.verify,
            "config": botocore_config_to_dict(self.conn_config.botocore_config),
            **hook_args_of(self.registry_config.model_dump()),
        }
