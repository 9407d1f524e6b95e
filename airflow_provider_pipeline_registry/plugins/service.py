"""What the UI and the JSON API show, read through the registry core (never Airflow-specific).

Every list is paged with the core's opaque page tokens. Filters the core has no index for
(owner, tag, search, inactive) are applied to each page the core returns; a filtered page holds at
most ``limit`` pipelines and may hold fewer (even none) while ``next_page_token`` is set, as
DynamoDB's own filtered pages do.

Everything shown goes through the registry's redaction (:mod:`..registry.redaction`), for every
role, admins included, as Airflow masks: each view the service returns is a redacted copy, and
:func:`view_json` redacts again what it serialises.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, TypeVar

from ..registry.errors import ItemNotFoundError, RegistryValidationError
from ..registry.facade import Registry
from ..registry.json_values import to_json_value
from ..registry.pipeline_config import PipelineConfigView
from ..registry.redaction import redact_mapping, redact_model
from ..registry.run_env import DEFAULT_LEASE_SECONDS
from ..registry.run_logs import PipelineRunLogView, RunStatus
from ..registry.table_config import TableConfigView
from ..registry.time_inputs import time_input
from ..registry.timezones import format_utc, resolve_user_timezone, timezone_name, utc_now

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
#: core pages read at most for one filtered page of pipelines (bounds one request's work)
MAX_CORE_PAGES = 20
#: a RUNNING run whose heartbeat (or start) is older than this is shown as stale: the default lease,
#: after which a driver may take the attempt over (a longer threshold would show as alive a run
#: that a driver may already have taken over)
STALE_AFTER_SECONDS = DEFAULT_LEASE_SECONDS


V = TypeVar("V", PipelineConfigView, TableConfigView, PipelineRunLogView)


def shown(view: V) -> V:
    """``view`` as it may be shown: secrets masked (``***``)."""
    return redact_model(view)


def view_json(view: PipelineConfigView | TableConfigView | PipelineRunLogView) -> dict[str, Any]:
    """A view as a JSON object, secrets masked (``display_timezone`` names the zone the UI shows times in)."""
    data: dict[str, Any] = redact_mapping(to_json_value(redact_model(view).model_dump(mode="python")))
    return data


def check_limit(limit: int) -> int:
    """``limit`` if within 1..MAX_LIMIT, else a RegistryValidationError naming ``limit``."""
    if not 1 <= limit <= MAX_LIMIT:
        raise RegistryValidationError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}", field="limit")
    return limit


def parse_statuses(values: Sequence[str]) -> list[RunStatus]:
    """Run statuses from query values (``SUCCESS`` or ``SUCCESS,FAILED``), case-insensitive."""
    statuses: list[RunStatus] = []
    for value in values:
        for part in value.split(","):
            name = part.strip().upper()
            if not name:
                continue
            try:
                statuses.append(RunStatus(name))
            except ValueError:
                allowed = ", ".join(s.value for s in RunStatus)
                raise RegistryValidationError(f"status: {part!r} is not one of {allowed}", field="status") from None
    return statuses


@dataclass(frozen=True)
class PipelineFilter:
    """Filters of the pipelines list; ``active`` None lists active and inactive pipelines."""

    active: bool | None = None
    owner: str | None = None
    tag: str | None = None
    search: str | None = None

    def matches(self, pipeline: PipelineConfigView) -> bool:
        if self.active is not None and pipeline.is_active is not self.active:
            return False
        if self.owner and pipeline.owner.casefold() != self.owner.strip().casefold():
            return False
        if self.tag and self.tag.strip().casefold() not in {t.casefold() for t in pipeline.tags}:
            return False
        if self.search:
            needle = self.search.strip().casefold()
            haystack = " ".join(
                [pipeline.pipeline_id, pipeline.name, pipeline.description or "", pipeline.owner, *pipeline.tags]
            ).casefold()
            if needle not in haystack:
                return False
        return True


@dataclass
class PipelinesPage:
    pipelines: list[PipelineConfigView]
    last_runs: dict[str, PipelineRunLogView | None]
    next_page_token: str | None
    display_timezone: str


@dataclass
class RunsPage:
    runs: list[PipelineRunLogView]
    next_page_token: str | None
    display_timezone: str
    #: the window as resolved for this page (UTC storage text), so that the next page keeps it
    since: str | None = None
    until: str | None = None


@dataclass
class PipelineDetail:
    pipeline: PipelineConfigView
    tables: list[TableConfigView]
    display_timezone: str
    extra: dict[str, Any] = field(default_factory=dict)


class RegistryService:
    """Read-only queries of the UI over one :class:`Registry`; ``tz`` overrides the display zone."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def zone(self, tz: str | None = None) -> tzinfo:
        """The display timezone: ``tz`` > the connection's ``user_timezone`` > env > UTC."""
        return resolve_user_timezone(tz or None, self.registry.config.user_timezone)

    # -- pipelines -------------------------------------------------------------------------------
    def list_pipelines(
        self,
        filters: PipelineFilter,
        *,
        limit: int = DEFAULT_LIMIT,
        page_token: str | None = None,
        tz: str | None = None,
        with_last_run: bool = True,
    ) -> PipelinesPage:
        """A page of pipelines in ``pipeline_id`` order (active ones from their index, else a scan)."""
        check_limit(limit)
        zone = self.zone(tz)
        read = self.registry.pipelines
        found: list[PipelineConfigView] = []
        token = page_token
        for _ in range(MAX_CORE_PAGES):
            wanted = limit - len(found)
            if filters.active is True:
                page = read.list_active(limit=wanted, page_token=token, tz=zone)
            else:
                page = read.list_all(limit=wanted, page_token=token, tz=zone)
            found.extend(p for p in page.items if filters.matches(p))
            token = page.next_page_token
            if token is None or len(found) >= limit:
                break
        found.sort(key=lambda p: p.pipeline_id)  # a scan's page is in hash order
        last_runs = self.last_runs([p.pipeline_id for p in found], zone) if with_last_run else {}
        return PipelinesPage([shown(p) for p in found], last_runs, token, timezone_name(zone))

    def last_runs(self, pipeline_ids: Sequence[str], zone: tzinfo) -> dict[str, PipelineRunLogView | None]:
        """The newest run of each pipeline (one index query each, a few in parallel)."""
        if not pipeline_ids:
            return {}
        runs = self.registry.runs
        with ThreadPoolExecutor(max_workers=min(8, len(pipeline_ids))) as pool:
            latest = list(pool.map(lambda pid: runs.latest(pid, tz=zone), pipeline_ids))
        return dict(zip(pipeline_ids, [shown(r) if r else None for r in latest], strict=True))

    def get_pipeline(self, pipeline_id: str, *, tz: str | None = None) -> PipelineDetail:
        """One pipeline with all its tables; ItemNotFoundError when the pipeline does not exist."""
        zone = self.zone(tz)
        pipeline = self.registry.pipelines.find_by_id(pipeline_id, tz=zone)
        if pipeline is None:
            raise self._pipeline_not_found(pipeline_id)
        tables = [shown(t) for t in self.registry.tables.iter_by_pipeline(pipeline_id, tz=zone)]
        return PipelineDetail(shown(pipeline), tables, timezone_name(zone))

    def require_pipeline(self, pipeline_id: str) -> None:
        """ItemNotFoundError unless ``pipeline_id`` exists (one projected read)."""
        if self.registry.pipelines.find_entity(pipeline_id) is None:
            raise self._pipeline_not_found(pipeline_id)

    def _pipeline_not_found(self, pipeline_id: str) -> ItemNotFoundError:
        return ItemNotFoundError(
            f"pipeline {pipeline_id!r} not found",
            table=self.registry.pipelines.gateway.table_name,
            key={"pipeline_id": pipeline_id},
        )

    def list_tables(
        self,
        pipeline_id: str,
        *,
        active_only: bool = False,
        limit: int = DEFAULT_LIMIT,
        page_token: str | None = None,
        tz: str | None = None,
    ) -> tuple[list[TableConfigView], str | None, str]:
        """A page of the tables of ``pipeline_id`` (the core's page)."""
        check_limit(limit)
        self.require_pipeline(pipeline_id)
        zone = self.zone(tz)
        page = self.registry.tables.list_by_pipeline(
            pipeline_id, active_only=active_only, limit=limit, page_token=page_token, tz=zone
        )
        return [shown(t) for t in page.items], page.next_page_token, timezone_name(zone)

    # -- runs ------------------------------------------------------------------------------------
    def list_runs(
        self,
        pipeline_id: str,
        *,
        statuses: Sequence[RunStatus] = (),
        since: str | None = None,
        until: str | None = None,
        limit: int = DEFAULT_LIMIT,
        page_token: str | None = None,
        tz: str | None = None,
    ) -> RunsPage:
        """A page of the runs of ``pipeline_id``, newest first (one index query)."""
        check_limit(limit)
        self.require_pipeline(pipeline_id)
        zone = self.zone(tz)
        now = utc_now()
        since_at = time_input(since, field="since", tz=zone, now=now)
        until_at = time_input(until, field="until", tz=zone, now=now)
        page = self.registry.runs.list_by_pipeline(
            pipeline_id,
            since=since_at,
            until=until_at,
            statuses=list(statuses) or None,
            limit=limit,
            page_token=page_token,
            tz=zone,
        )
        return RunsPage(
            [shown(r) for r in page.items],
            page.next_page_token,
            timezone_name(zone),
            format_utc(since_at) if since_at is not None else None,
            format_utc(until_at) if until_at is not None else None,
        )

    def get_run(self, pipeline_id: str, run_id: str, *, tz: str | None = None) -> PipelineRunLogView:
        """One run (strongly consistent read); ItemNotFoundError when it does not exist."""
        return shown(self.registry.runs.get_by_id(run_id, pipeline_id, consistent=True, tz=self.zone(tz)))


def heartbeat_age_seconds(run: PipelineRunLogView, now: datetime | None = None) -> float | None:
    """Seconds since the last heartbeat (or the start, if none) of a RUNNING run; None otherwise."""
    if run.status is not RunStatus.RUNNING:
        return None
    last = (run.heartbeat_at or run.start_time).astimezone(UTC)
    return round(((now or utc_now()) - last).total_seconds(), 3)


def run_json(run: PipelineRunLogView, now: datetime | None = None) -> dict[str, Any]:
    """A run as JSON, with ``heartbeat_age_seconds`` and ``stale`` for RUNNING runs."""
    data = view_json(run)
    age = heartbeat_age_seconds(run, now)
    data["heartbeat_age_seconds"] = age
    data["stale"] = shown_stale(age)
    return data


def shown_stale(heartbeat_age: float | None) -> bool:
    """Whether a run whose heartbeat is ``heartbeat_age`` seconds old is shown as stale: its lease
    expired (:data:`STALE_AFTER_SECONDS`, the default lease), so a driver may take it over."""
    return heartbeat_age is not None and heartbeat_age > STALE_AFTER_SECONDS
