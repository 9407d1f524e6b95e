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

import heapq
import math
import statistics
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any, TypeVar

from ..registry.attributes import AttributeValue, decode_item
from ..registry.errors import CorruptItemError, ItemNotFoundError, RegistryValidationError
from ..registry.facade import Registry
from ..registry.json_values import to_json_value
from ..registry.keys import build_gsi_key_condition, decode_page_token, encode_page_token
from ..registry.pipeline_config import PipelineConfig, PipelineConfigView
from ..registry.pipeline_config.models import ACTIVE_PIPELINES_INDEX
from ..registry.redaction import redact_mapping, redact_model
from ..registry.run_env import DEFAULT_LEASE_SECONDS
from ..registry.run_logs import PipelineRunLogView, RunStatus
from ..registry.table_config import TableConfig, TableConfigView
from ..registry.table_config.models import PIPELINE_TABLES_INDEX
from ..registry.time_inputs import time_input
from ..registry.timezones import format_duration, format_utc, resolve_user_timezone, timezone_name, utc_now

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
#: index entries one request reads at most while filtering pipelines (bounds one request's work:
#: more than the largest registry tested, 10,000 pipelines); past it the page ends early with a
#: ``next_page_token`` to go on from, and ``partial`` says so
MAX_SCANNED_PIPELINES = 50_000
#: entries read per index query while filtering (only the searchable attributes are read)
SEARCH_BATCH = 1000
#: the attributes a pipeline filter looks at (read from the index; the page's items are read whole)
SEARCHED_ATTRIBUTES = ("pipeline_id", "is_active", "name", "owner", "tags", "description")
#: successful runs the "usual duration" (median, p90) is computed over, newest first
USUAL_SAMPLE = 50
#: a chart whose longest run is more than this times the p90 of the runs shown is clipped there
CHART_CLIP_FACTOR = 3.0
#: run items one look for pipelines without a config reads at most (a Scan of the run-log table
#: projected on ``pipeline_id``); past it the list is ``partial``
ORPHAN_SCAN_LIMIT = 20_000
#: seconds an api-server keeps the pipelines without a config it found (one Scan per registry per period)
ORPHAN_CACHE_SECONDS = 300.0
#: seconds between reloads of a page showing a RUNNING run (``auto_refresh_seconds``)
AUTO_REFRESH_SECONDS = 30
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

    @property
    def filtering(self) -> bool:
        """Whether anything but ``active`` filters (then the index is read in batches and filtered)."""
        return bool((self.owner or "").strip() or (self.tag or "").strip() or (self.search or "").strip())

    def matches(self, pipeline: PipelineConfigView | Mapping[str, Any]) -> bool:
        """Whether a pipeline (a view, or its stored attributes as read from the index) passes.

        ``search`` finds the text in the id (so an id prefix finds it), the name, the description,
        the owner or a tag, case-insensitively."""
        get = pipeline.get if isinstance(pipeline, Mapping) else (lambda name: getattr(pipeline, name, None))
        if self.active is not None and _stored_bool(get("is_active")) is not self.active:
            return False
        owner = _text(get("owner")) or "unknown"
        tags = [_text(t) for t in (get("tags") or []) if t is not None] if _is_list(get("tags")) else []
        if self.owner and self.owner.strip() and owner.casefold() != self.owner.strip().casefold():
            return False
        if self.tag and self.tag.strip() and self.tag.strip().casefold() not in {t.casefold() for t in tags}:
            return False
        if self.search and self.search.strip():
            needle = self.search.strip().casefold()
            haystack = "\n".join(
                [_text(get("pipeline_id")), _text(get("name")), _text(get("description")), owner, *tags]
            ).casefold()
            if needle not in haystack:
                return False
        return True


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _is_list(value: Any) -> bool:
    return isinstance(value, list | tuple | set | frozenset)


def _stored_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return {"true": True, "false": False}.get(value.strip().lower())
    return None


@dataclass(frozen=True)
class BadItem:
    """A stored item that does not validate, shown in its list as such: its key and its problems."""

    table: str | None
    key: dict[str, Any]
    message: str
    errors: list[dict[str, Any]]

    @classmethod
    def of(cls, exc: CorruptItemError) -> BadItem:
        return cls(exc.table, dict(exc.key or {}), exc.message, list(exc.errors))

    @property
    def key_text(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.key.items())

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = redact_mapping(
            to_json_value(
                {
                    "error": "corrupt_item",
                    "table": self.table,
                    "key": self.key,
                    "message": self.message,
                    "errors": self.errors,
                }
            )
        )
        return data


@dataclass(frozen=True)
class Usual:
    """The usual duration of a pipeline: median and p90 of its recent successful runs."""

    median_seconds: float
    p90_seconds: float
    sample_size: int

    def json(self) -> dict[str, Any]:
        return {
            "median_seconds": self.median_seconds,
            "p90_seconds": self.p90_seconds,
            "sample_size": self.sample_size,
            "median": format_duration(self.median_seconds),
            "p90": format_duration(self.p90_seconds),
        }

    def ratio(self, run: PipelineRunLogView) -> float | None:
        """The run's duration over the usual (median) one, e.g. 2.3; None while running."""
        if run.duration_seconds is None or self.median_seconds <= 0:
            return None
        return round(float(run.duration_seconds) / self.median_seconds, 2)


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` percentile of ``values`` (linear interpolation between closest ranks)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no value")
    rank = fraction * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def chart_scale(runs: Sequence[PipelineRunLogView]) -> dict[str, Any]:
    """How the duration chart's y axis should be scaled so that outliers do not flatten it.

    ``linear`` up to the longest run, unless the longest is more than :data:`CHART_CLIP_FACTOR`
    times the p90 (lower rank) of the durations shown (at least five): then ``clipped`` at that
    bound, the outliers (to draw at the top edge, marked) listed by run id."""
    durations = [(r.run_id, float(r.duration_seconds)) for r in runs if r.duration_seconds is not None]
    if not durations:
        return {"mode": "linear", "max_seconds": None, "outlier_run_ids": []}
    longest = max(d for _, d in durations)
    ordered = sorted(d for _, d in durations)
    p90 = ordered[math.floor(0.9 * (len(ordered) - 1))]  # the lower rank: one outlier does not raise it
    bound = CHART_CLIP_FACTOR * p90
    if len(durations) >= 5 and p90 > 0 and longest > bound:
        outliers = [run_id for run_id, d in durations if d > bound]
        return {"mode": "clipped", "max_seconds": round(bound, 3), "outlier_run_ids": outliers}
    return {"mode": "linear", "max_seconds": longest, "outlier_run_ids": []}


_BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def format_metric(name: str, value: Any) -> str:
    """A metric as a person reads it: ``1,234,567`` rows, ``1.5 GiB`` for a name with the word
    ``bytes``/``size``, ``2m00s`` for ``*_seconds``/``*duration*``, floats to 4 significant
    digits; anything else as stored."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return json_text(value)
    number = float(value)
    if not math.isfinite(number):
        return str(value)
    lowered = name.lower()
    words = set(lowered.replace("-", "_").split("_"))
    if words & {"bytes", "size"}:
        size, unit = abs(number), 0
        while size >= 1024 and unit < len(_BYTE_UNITS) - 1:
            size /= 1024
            unit += 1
        sign = "-" if number < 0 else ""
        return f"{sign}{size:,.0f} {_BYTE_UNITS[unit]}" if unit == 0 else f"{sign}{size:,.1f} {_BYTE_UNITS[unit]}"
    if words & {"seconds", "secs"} or "duration" in lowered:
        return format_duration(number)
    if number == int(number) and abs(number) < 1e18:
        return f"{int(number):,}"
    return f"{number:,.4g}" if abs(number) < 1e6 else f"{number:,.0f}"


def json_text(value: Any) -> str:
    return value if isinstance(value, str) else str(to_json_value(value))


def formatted_metrics(metrics: Mapping[str, Any]) -> dict[str, str]:
    """Every metric formatted (:func:`format_metric`), by name, in name order."""
    return {k: format_metric(k, v) for k, v in sorted(metrics.items())}


@dataclass
class PipelinesPage:
    pipelines: list[PipelineConfigView]
    last_runs: dict[str, PipelineRunLogView | None]
    next_page_token: str | None
    display_timezone: str
    #: stored pipelines of this page that do not validate (shown as such, by key)
    bad_items: list[BadItem] = field(default_factory=list)
    #: the newest run of a pipeline, when that run does not validate
    bad_last_runs: dict[str, BadItem] = field(default_factory=dict)
    #: the page ended early at the work bound (:data:`MAX_SCANNED_PIPELINES`): go on with the token
    partial: bool = False

    @property
    def any_running(self) -> bool:
        return any(r is not None and r.status is RunStatus.RUNNING for r in self.last_runs.values())


@dataclass(frozen=True)
class Orphans:
    """Pipelines that have runs but no config item, in id order (a look at the run-log table)."""

    pipeline_ids: list[str]
    #: the look stopped at :data:`ORPHAN_SCAN_LIMIT` run items: more may exist
    partial: bool
    #: when the look was made (UTC)
    looked_at: datetime

    def matching(self, filters: PipelineFilter) -> list[str]:
        """The ids that ``filters`` lets through: none under an owner, tag or active filter (an
        orphan has none of those), the ids containing the search text otherwise."""
        if filters.active is not None or (filters.owner or "").strip() or (filters.tag or "").strip():
            return []
        needle = (filters.search or "").strip().casefold()
        return [i for i in self.pipeline_ids if needle in i.casefold()]

    def json(self, filters: PipelineFilter) -> dict[str, Any]:
        looked_at = format_utc(self.looked_at)
        return {"pipeline_ids": self.matching(filters), "partial": self.partial, "looked_at": looked_at}


_orphans_lock = threading.Lock()
_orphans_cache: dict[str, tuple[float, Orphans]] = {}


@dataclass
class RunsPage:
    runs: list[PipelineRunLogView]
    next_page_token: str | None
    display_timezone: str
    #: the window as resolved for this page (UTC storage text), so that the next page keeps it
    since: str | None = None
    until: str | None = None
    #: stored runs of this page that do not validate (e.g. an unknown status), by key
    bad_items: list[BadItem] = field(default_factory=list)
    #: median/p90 of the pipeline's recent successful runs (None when it has none)
    usual: Usual | None = None
    #: whether the pipeline has a config (runs of a pipeline without one are listed too)
    has_config: bool = True

    @property
    def any_running(self) -> bool:
        return any(r.status is RunStatus.RUNNING for r in self.runs)


@dataclass
class PipelineDetail:
    pipeline: PipelineConfigView
    tables: list[TableConfigView]
    display_timezone: str
    extra: dict[str, Any] = field(default_factory=dict)
    bad_tables: list[BadItem] = field(default_factory=list)


#: the scope of the pipelines list's page tokens: "after this id" (any filter, active or not)
PIPELINES_TOKEN_SCOPE = "pipelines:by_id"


def _raw_id(raw: Mapping[str, AttributeValue]) -> str:
    value = raw.get("pipeline_id") or {}
    return str(value.get("S", "")) if isinstance(value, Mapping) else ""


def _id_token(pipeline_id: str | None) -> str | None:
    if pipeline_id is None:
        return None
    return encode_page_token({"pipeline_id": {"S": pipeline_id}}, scope=PIPELINES_TOKEN_SCOPE)


def _after_id(page_token: str | None) -> str | None:
    key = decode_page_token(page_token, scope=PIPELINES_TOKEN_SCOPE)
    if key is None:
        return None
    value = key.get("pipeline_id")
    if not isinstance(value, Mapping) or not isinstance(value.get("S"), str):
        raise RegistryValidationError(
            "page_token is malformed (pass back a token this API returned)", field="page_token"
        )
    return str(value["S"])


@dataclass
class TableWatermark:
    """A table, its committed watermark (the core's ``WatermarkState``) and its history, newest first."""

    table: TableConfigView
    state: Any
    history: list[Any]
    display_timezone: str


def _in_zone(entry: Any, zone: tzinfo) -> Any:
    """A history entry (redacted) with ``at`` in the display zone."""
    return redact_model(entry).model_copy(update={"at": entry.at.astimezone(zone)})


def watermark_json(detail: TableWatermark) -> dict[str, Any]:
    """``GET api/v1/watermark``: the committed value, its starting point and the history, redacted."""
    state = detail.state
    return redact_mapping(
        {
            "table_id": detail.table.table_id,
            "pipeline_id": detail.table.pipeline_id,
            "watermark_column": detail.table.watermark_column,
            "watermark_type": str(state.watermark_type),
            "starting_value": detail.table.watermark_value,
            "committed_value": state.value,
            "moves": state.seq,
            "moved_by_run_id": state.run_id,
            "rewound_by": state.rewound_by,
            "moved_at": to_json_value(state.at),
            "history": [to_json_value(e.model_dump(mode="python")) for e in detail.history],
            "display_timezone": detail.display_timezone,
        }
    )


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
        """A page of pipelines in ``pipeline_id`` order across pages.

        Read from the active-pipelines index (partition ``is_active``, sorted by ``pipeline_id``):
        one partition when ``active`` is given, else both merged in id order. The page token is the
        last id shown, so pages neither repeat nor skip an id. Owner, tag and search filters read
        only the searchable attributes in batches (any of 10,000 pipelines is found), then the
        page's pipelines whole; a stored pipeline that does not validate is a :class:`BadItem`."""
        check_limit(limit)
        zone = self.zone(tz)
        after = _after_id(page_token)
        partitions = ["true"] if filters.active is True else ["false"] if filters.active is False else ["true", "false"]
        filtering = filters.filtering
        batch = SEARCH_BATCH if filtering else limit + 1
        projection = SEARCHED_ATTRIBUTES if filtering else None
        merged = heapq.merge(
            *(self._index_walk(p, after, batch, projection) for p in partitions),
            key=lambda raw: _raw_id(raw),
        )
        chosen: list[dict[str, AttributeValue]] = []
        more = False
        partial = False
        last_seen: str | None = None
        for scanned, raw in enumerate(merged, start=1):
            if not filtering or filters.matches(decode_item(raw)):
                if len(chosen) >= limit:
                    more = True  # one more match exists: there is a next page
                    break
                chosen.append(raw)
            if filtering and scanned >= MAX_SCANNED_PIPELINES:
                partial, last_seen = True, _raw_id(raw)
                break
        ids = [_raw_id(raw) for raw in chosen]
        next_after = last_seen if partial else ids[-1] if more and ids else None
        token = _id_token(next_after)
        if filtering and ids:
            by_id = {
                _raw_id(item): item
                for item in self.registry.pipelines.gateway.batch_get([{"pipeline_id": {"S": i}} for i in ids])
            }
            items = [by_id[i] for i in ids if i in by_id]  # a pipeline deleted in between is left out
        else:
            items = chosen
        table = self.registry.pipelines.gateway.table_name
        entities, corrupt = PipelineConfig.from_dynamodb_items_reporting(items, table=table)
        views = PipelineConfigView.from_entities(entities, zone)
        last_runs: dict[str, PipelineRunLogView | None] = {}
        bad_last: dict[str, BadItem] = {}
        if with_last_run:
            last_runs, bad_last = self.last_runs([p.pipeline_id for p in views], zone)
        return PipelinesPage(
            [shown(p) for p in views],
            last_runs,
            token,
            timezone_name(zone),
            [BadItem.of(e) for e in corrupt],
            bad_last,
            partial,
        )

    def pipelines_without_config(self, *, fresh: bool = False) -> Orphans:
        """The pipelines that have runs but no config (their runs are reachable from the list):
        a Scan of the run-log table projected on ``pipeline_id`` (at most :data:`ORPHAN_SCAN_LIMIT`
        items), then one key-only BatchGetItem of the ids found; kept :data:`ORPHAN_CACHE_SECONDS`
        per registry (``fresh`` looks again)."""
        runs = self.registry.runs.gateway
        cache_key = f"{self.registry.config.endpoint_url}|{runs.table_name}"
        now = time.monotonic()
        with _orphans_lock:
            cached = _orphans_cache.get(cache_key)
        if cached is not None and not fresh and now - cached[0] < ORPHAN_CACHE_SECONDS:
            return cached[1]
        ids: set[str] = set()
        read = 0
        start: dict[str, AttributeValue] | None = None
        partial = False
        while True:
            page = runs.scan(limit=min(1000, ORPHAN_SCAN_LIMIT - read), start_key=start, projection=["pipeline_id"])
            read += len(page.items)
            ids.update(_raw_id(item) for item in page.items)
            start = page.last_evaluated_key
            if not start:
                break
            if read >= ORPHAN_SCAN_LIMIT:
                partial = True
                break
        ids.discard("")
        configs = self.registry.pipelines.gateway
        found = (
            {
                _raw_id(item)
                for item in configs.batch_get(
                    [{"pipeline_id": {"S": i}} for i in sorted(ids)], projection=["pipeline_id"]
                )
            }
            if ids
            else set()
        )
        orphans = Orphans(sorted(ids - found), partial, utc_now())
        with _orphans_lock:
            _orphans_cache[cache_key] = (now, orphans)
        return orphans

    def _index_walk(
        self, partition: str, after: str | None, batch: int, projection: Sequence[str] | None
    ) -> Iterator[dict[str, AttributeValue]]:
        """The index entries of one ``is_active`` partition after ``after``, in id order, lazily."""
        gateway = self.registry.pipelines.gateway
        condition = build_gsi_key_condition(PipelineConfig, ACTIVE_PIPELINES_INDEX, partition)
        start: dict[str, AttributeValue] | None = (
            {"pipeline_id": {"S": after}, "is_active": {"S": partition}} if after is not None else None
        )
        while True:
            page = gateway.query(condition, limit=batch, start_key=start, projection=projection)
            yield from page.items
            start = page.last_evaluated_key
            if not start:
                return

    def last_runs(
        self, pipeline_ids: Sequence[str], zone: tzinfo
    ) -> tuple[dict[str, PipelineRunLogView | None], dict[str, BadItem]]:
        """The newest run of each pipeline (one index query each, a few in parallel); a newest run
        that does not validate is returned apart, as a :class:`BadItem`."""
        if not pipeline_ids:
            return {}, {}
        runs = self.registry.runs

        def newest(pid: str) -> tuple[PipelineRunLogView | None, BadItem | None]:
            page = runs.list_by_pipeline(pid, limit=1, tz=zone, report_corrupt=True)
            corrupt = page.extra.get("corrupt_items") or []
            if corrupt:
                return None, BadItem.of(corrupt[0])
            return (shown(page.items[0]) if page.items else None), None

        with ThreadPoolExecutor(max_workers=min(8, len(pipeline_ids))) as pool:
            latest = list(pool.map(newest, pipeline_ids))
        found = {pid: run for pid, (run, _) in zip(pipeline_ids, latest, strict=True)}
        bad = {pid: item for pid, (_, item) in zip(pipeline_ids, latest, strict=True) if item is not None}
        return found, bad

    def get_pipeline(self, pipeline_id: str, *, tz: str | None = None) -> PipelineDetail:
        """One pipeline with all its tables; ItemNotFoundError when the pipeline does not exist."""
        zone = self.zone(tz)
        pipeline = self.registry.pipelines.find_by_id(pipeline_id, tz=zone)
        if pipeline is None:
            raise self._pipeline_not_found(pipeline_id)
        tables, bad_tables = self.tables_of(pipeline_id, zone)
        return PipelineDetail(shown(pipeline), tables, timezone_name(zone), bad_tables=bad_tables)

    def tables_of(self, pipeline_id: str, zone: tzinfo) -> tuple[list[TableConfigView], list[BadItem]]:
        """Every table of ``pipeline_id`` in table id order (the tables index, all pages); a table
        item that does not validate is returned apart as a :class:`BadItem` and hides nothing."""
        gateway = self.registry.tables.gateway
        condition = build_gsi_key_condition(TableConfig, PIPELINE_TABLES_INDEX, pipeline_id)
        items = list(gateway.iterate(lambda start: gateway.query(condition, limit=100, start_key=start)))
        entities, corrupt = TableConfig.from_dynamodb_items_reporting(items, table=gateway.table_name)
        views = [shown(t) for t in TableConfigView.from_entities(entities, zone)]
        return views, [BadItem.of(e) for e in corrupt]

    def require_pipeline(self, pipeline_id: str) -> None:
        """ItemNotFoundError unless ``pipeline_id`` exists (one projected read)."""
        if not self.has_config(pipeline_id):
            raise self._pipeline_not_found(pipeline_id)

    def has_config(self, pipeline_id: str) -> bool:
        """Whether ``pipeline_id`` has a stored config (one key-only read: a config that does not
        validate still counts)."""
        gateway = self.registry.pipelines.gateway
        return bool(gateway.get_item({"pipeline_id": {"S": pipeline_id}}, projection=["pipeline_id"]))

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
        with_usual: bool = True,
    ) -> RunsPage:
        """A page of the runs of ``pipeline_id``, newest first (one index query), with the usual
        duration; a pipeline without a config has its runs listed too (404 only when it has neither).
        A stored run that does not validate is listed apart as a :class:`BadItem`."""
        check_limit(limit)
        has_config = self.has_config(pipeline_id)
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
            report_corrupt=True,
        )
        bad = [BadItem.of(e) for e in page.extra.get("corrupt_items") or []]
        if not has_config and not page_token and not page.items and not bad and not self._has_runs(pipeline_id):
            raise self._pipeline_not_found(pipeline_id)
        return RunsPage(
            [shown(r) for r in page.items],
            page.next_page_token,
            timezone_name(zone),
            format_utc(since_at) if since_at is not None else None,
            format_utc(until_at) if until_at is not None else None,
            bad,
            self.usual(pipeline_id) if with_usual else None,
            has_config,
        )

    def _has_runs(self, pipeline_id: str) -> bool:
        page = self.registry.runs.list_summaries(pipeline_id, limit=1, report_corrupt=True)
        return bool(page.items or page.extra.get("corrupt_items"))

    def usual(self, pipeline_id: str) -> Usual | None:
        """Median and p90 of the durations of the pipeline's last :data:`USUAL_SAMPLE` successful
        runs (newest first; at most three index pages read); None when it has none."""
        durations: list[float] = []
        token: str | None = None
        for _ in range(3):
            page = self.registry.runs.list_summaries(  # durations: the index entries are enough
                pipeline_id,
                statuses=[RunStatus.SUCCESS],
                limit=USUAL_SAMPLE - len(durations),
                page_token=token,
                report_corrupt=True,
            )
            durations += [float(r.duration_seconds) for r in page.items if r.duration_seconds is not None]
            token = page.next_page_token
            if token is None or len(durations) >= USUAL_SAMPLE:
                break
        if not durations:
            return None
        return Usual(round(statistics.median(durations), 3), round(percentile(durations, 0.9), 3), len(durations))

    def get_run(self, pipeline_id: str, run_id: str, *, tz: str | None = None) -> PipelineRunLogView:
        """One run (strongly consistent read); ItemNotFoundError when it does not exist."""
        return shown(self.registry.runs.get_by_id(run_id, pipeline_id, consistent=True, tz=self.zone(tz)))

    # -- watermarks ------------------------------------------------------------------------------
    def get_table_watermark(
        self, table_id: str, *, limit: int = DEFAULT_LIMIT, tz: str | None = None
    ) -> TableWatermark:
        """A table's committed watermark and its newest ``limit`` moves; ItemNotFoundError when the
        table does not exist."""
        check_limit(limit)
        zone = self.zone(tz)
        read = self.registry.tables
        table = shown(read.get_by_id(table_id, consistent=True, tz=zone))
        state = redact_model(read.watermark(table_id))
        history = read.watermark_history(table_id, limit=limit, newest_first=True)
        return TableWatermark(table, state, [_in_zone(e, zone) for e in history], timezone_name(zone))

    def committed_watermarks(self, tables: Sequence[TableConfigView]) -> dict[str, str | None]:
        """``{table_id: committed watermark}`` of the incremental tables among ``tables`` (those with a
        ``watermark_column``), a few reads in parallel."""
        wanted = [t.table_id for t in tables if t.watermark_column]
        if not wanted:
            return {}
        read = self.registry.tables
        with ThreadPoolExecutor(max_workers=min(8, len(wanted))) as pool:
            states = list(pool.map(read.watermark, wanted))
        return {table_id: redact_model(s).value for table_id, s in zip(wanted, states, strict=True)}

    @staticmethod
    def run_watermarks(run: PipelineRunLogView) -> list[tuple[str, str | None, str | None]]:
        """``(table_id, from, to)`` of each table whose watermark ``run``'s SUCCESS committed, by table id."""
        commits = run.watermark_commits or {}
        return [(table_id, commits[table_id].get("from"), commits[table_id].get("to")) for table_id in sorted(commits)]


def heartbeat_age_seconds(run: PipelineRunLogView, now: datetime | None = None) -> float | None:
    """Seconds since the last heartbeat (or the start, if none) of a RUNNING run; None otherwise."""
    if run.status is not RunStatus.RUNNING:
        return None
    last = (run.heartbeat_at or run.start_time).astimezone(UTC)
    return round(((now or utc_now()) - last).total_seconds(), 3)


def run_json(run: PipelineRunLogView, now: datetime | None = None, usual: Usual | None = None) -> dict[str, Any]:
    """A run as JSON, with ``heartbeat_age_seconds`` and ``stale`` for RUNNING runs, its metrics
    formatted (``metrics_formatted``) and, given the pipeline's usual duration, ``usual_ratio``
    (its duration over the median of the recent successful runs, e.g. 2.3)."""
    data = view_json(run)
    age = heartbeat_age_seconds(run, now)
    data["heartbeat_age_seconds"] = age
    data["stale"] = shown_stale(age)
    data["metrics_formatted"] = formatted_metrics(data.get("metrics") or {})
    data["usual_ratio"] = usual.ratio(run) if usual is not None else None
    return data


def run_stale(run: PipelineRunLogView, now: datetime | None = None) -> bool:
    """Whether ``run`` is shown as stale (RUNNING past its lease), for every list."""
    return shown_stale(heartbeat_age_seconds(run, now))


def shown_stale(heartbeat_age: float | None) -> bool:
    """Whether a run whose heartbeat is ``heartbeat_age`` seconds old is shown as stale: its lease
    expired (:data:`STALE_AFTER_SECONDS`, the default lease), so a driver may take it over."""
    return heartbeat_age is not None and heartbeat_age > STALE_AFTER_SECONDS
