"""Queries over ``pipeline_run_logs``."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any, overload

from ..attributes import Item, check_key_value, decode_item
from ..conditions import Condition, In, KeyCondition
from ..config import DynamoDBConfig
from ..config_store import check_projection
from ..errors import ItemNotFoundError, RegistryValidationError
from ..gateway import DynamoDBClient, Page, TableGateway, create_table_gateway
from ..keys import build_gsi_key_condition, build_model_key, decode_page_token, encode_page_token
from ..timezones import MAX_DATETIME_TEXT, MIN_DATETIME_TEXT, format_utc, resolve_user_timezone, utc_now
from ..views import ResultPage, iterate_pages
from .models import (
    PIPELINE_RUNS_INDEX,
    RUNNING_RUNS_INDEX,
    PipelineRunLog,
    PipelineRunLogView,
    PipelineRunSummary,
    RunStatus,
)

#: an attribute every write of a run sets and neither run index projects: an index entry without it
#: is completed from the table (a table created before the ``INCLUDE`` projections, with ``ALL``,
#: holds it in its index entries, which are then used as they are)
_HOT_MARKER = "updated_at"


class PipelineRunLogsReadApi:
    """Read run logs: one run (optionally strongly consistent and projected), the runs of a
    pipeline newest first in a time window, running runs, stale runs."""

    def __init__(
        self,
        config: DynamoDBConfig,
        client: DynamoDBClient | None = None,
        gateway: TableGateway | None = None,
    ) -> None:
        self.config = config
        self.gateway = gateway or create_table_gateway(config, PipelineRunLog, client)

    def _view(self, run: PipelineRunLog, tz: str | tzinfo | None) -> PipelineRunLogView:
        return PipelineRunLogView.from_entity(run, resolve_user_timezone(tz, self.config.user_timezone))

    def find_entity(self, run_id: str, pipeline_id: str, *, consistent: bool = False) -> PipelineRunLog | None:
        """The stored run (UTC), or None."""
        item = self.gateway.get_item(
            build_model_key(PipelineRunLog, run_id=run_id, pipeline_id=pipeline_id), consistent=consistent
        )
        return PipelineRunLog.from_dynamodb_item(item) if item else None

    def find_by_id(
        self, run_id: str, pipeline_id: str, *, consistent: bool = False, tz: str | tzinfo | None = None
    ) -> PipelineRunLogView | None:
        """The run's view, or None when it does not exist."""
        run = self.find_entity(run_id, pipeline_id, consistent=consistent)
        return self._view(run, tz) if run else None

    @overload
    def get_by_id(
        self,
        run_id: str,
        pipeline_id: str | None = None,
        *,
        consistent: bool = False,
        tz: str | tzinfo | None = None,
        projection: None = None,
    ) -> PipelineRunLogView: ...

    @overload
    def get_by_id(
        self,
        run_id: str,
        pipeline_id: str | None = None,
        *,
        consistent: bool = False,
        tz: str | tzinfo | None = None,
        projection: Sequence[str],
    ) -> dict[str, Any]: ...

    def get_by_id(
        self,
        run_id: str,
        pipeline_id: str | None = None,
        *,
        consistent: bool = False,
        tz: str | tzinfo | None = None,
        projection: Sequence[str] | None = None,
    ) -> PipelineRunLogView | dict[str, Any]:
        """The run's view; raises ItemNotFoundError when it does not exist.

        Without ``pipeline_id`` (the seed library's call): the run id alone, a Query on the
        partition key; a RegistryValidationError naming the pipelines when several share the run id.
        With ``projection``: only those attributes, as :meth:`get_attributes` returns them (an
        unknown name is a RegistryValidationError).
        """
        names = check_projection(PipelineRunLog, projection, tz) if projection is not None else None
        if pipeline_id is None:
            pipeline_id = self._only_pipeline_of(run_id, consistent=consistent)
        if names is not None:
            found = self.get_attributes(run_id, pipeline_id, names, consistent=consistent)
            if found is None:
                raise self._not_found(run_id, pipeline_id)
            return found
        view = self.find_by_id(run_id, pipeline_id, consistent=consistent, tz=tz)
        if view is None:
            raise self._not_found(run_id, pipeline_id)
        return view

    def _not_found(self, run_id: str, pipeline_id: str | None) -> ItemNotFoundError:
        of = f" of pipeline {pipeline_id!r}" if pipeline_id is not None else ""
        key = {"run_id": run_id} if pipeline_id is None else {"run_id": run_id, "pipeline_id": pipeline_id}
        return ItemNotFoundError(f"run {run_id!r}{of} not found", table=self.gateway.table_name, key=key)

    def _only_pipeline_of(self, run_id: str, *, consistent: bool) -> str:
        """The one pipeline with a run ``run_id`` (a Query on the partition key, keys only)."""
        check_key_value("run_id", run_id)
        page = self.gateway.query(
            KeyCondition("run_id", run_id), consistent=consistent, projection=["run_id", "pipeline_id"]
        )
        pipelines = sorted({str(decode_item(item)["pipeline_id"]) for item in page.items})
        if not pipelines:
            raise self._not_found(run_id, None)
        if len(pipelines) > 1:
            raise RegistryValidationError(
                f"run {run_id!r} exists in {len(pipelines)} pipelines ({', '.join(map(repr, pipelines))}): "
                "name the pipeline (get_by_id(run_id, pipeline_id))",
                field="pipeline_id",
                errors=[{"field": "pipeline_id", "message": "ambiguous run id", "value": p} for p in pipelines],
            )
        return pipelines[0]

    def get_attributes(
        self, run_id: str, pipeline_id: str, attributes: Sequence[str], *, consistent: bool = True
    ) -> dict[str, Any] | None:
        """Only ``attributes`` of one run (one projected GetItem), or None when it does not exist."""
        item = self.gateway.get_item(
            build_model_key(PipelineRunLog, run_id=run_id, pipeline_id=pipeline_id),
            consistent=consistent,
            projection=list(attributes),
        )
        return decode_item(item) if item else None

    def get_many_attributes(
        self, keys: Sequence[tuple[str, str]], attributes: Sequence[str], *, consistent: bool = True
    ) -> dict[tuple[str, str], dict[str, Any]]:
        """Only ``attributes`` of many runs, by ``(run_id, pipeline_id)``: BatchGetItem of up to 100
        keys per request (unprocessed keys re-sent); runs that do not exist are absent."""
        wanted = list(dict.fromkeys(keys))
        projection = list(dict.fromkeys((*attributes, "run_id", "pipeline_id")))
        items = self.gateway.batch_get(
            [build_model_key(PipelineRunLog, run_id=r, pipeline_id=p) for r, p in wanted],
            consistent=consistent,
            projection=projection,
        )
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for raw in items:
            item = decode_item(raw)
            found[(str(item["run_id"]), str(item["pipeline_id"]))] = item
        return found

    def list_by_pipeline(
        self,
        pipeline_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        statuses: Sequence[RunStatus | str] | None = None,
        limit: int = 50,
        page_token: str | None = None,
        tz: str | tzinfo | None = None,
        report_corrupt: bool = False,
    ) -> ResultPage[PipelineRunLogView]:
        """Runs of ``pipeline_id`` newest first, started within ``[since, until]``, optionally by status.

        One Query of the pipeline's runs index, which holds only what a start or an end writes
        (``RUN_INDEX_ATTRIBUTES``), then one BatchGetItem of the page's runs from the table (0.5 RCU a
        run up to 4 KB; see ``_complete``). :meth:`list_summaries` is the Query alone.

        A stored run that does not validate (e.g. a status another tool wrote) raises
        :class:`CorruptItemError`; with ``report_corrupt`` it is left out of ``items`` and listed in
        ``extra["corrupt_items"]`` instead (a CorruptItemError each, naming its key)."""
        page, scope, wanted = self._pipeline_index_page(pipeline_id, since, until, statuses, limit, page_token)
        items = self._complete(page.items, wanted)
        zone = resolve_user_timezone(tz, self.config.user_timezone)
        extra: dict[str, Any] = {}
        if report_corrupt:
            runs, corrupt = PipelineRunLog.from_dynamodb_items_reporting(items, table=self.gateway.table_name)
            extra["corrupt_items"] = corrupt
        else:
            runs = PipelineRunLog.from_dynamodb_items(items, table=self.gateway.table_name)
        return ResultPage(
            PipelineRunLogView.from_entities(runs, zone),
            encode_page_token(page.last_evaluated_key, scope=scope),
            extra,
        )

    def list_summaries(
        self,
        pipeline_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        statuses: Sequence[RunStatus | str] | None = None,
        limit: int = 50,
        page_token: str | None = None,
        report_corrupt: bool = False,
    ) -> ResultPage[PipelineRunSummary]:
        """Like :meth:`list_by_pipeline` (same window, filter and page tokens), but only what the
        index holds (keys, start, status, end, error type; UTC): one index Query, no table read.
        For readers that need no more (which run is the newest, durations, whether any exists)."""
        page, scope, _ = self._pipeline_index_page(pipeline_id, since, until, statuses, limit, page_token)
        extra: dict[str, Any] = {}
        if report_corrupt:
            runs, extra["corrupt_items"] = PipelineRunSummary.from_dynamodb_items_reporting(
                page.items, table=self.gateway.table_name
            )
        else:
            runs = PipelineRunSummary.from_dynamodb_items(page.items, table=self.gateway.table_name)
        return ResultPage(runs, encode_page_token(page.last_evaluated_key, scope=scope), extra)

    def _pipeline_index_page(
        self,
        pipeline_id: str,
        since: datetime | None,
        until: datetime | None,
        statuses: Sequence[RunStatus | str] | None,
        limit: int,
        page_token: str | None,
    ) -> tuple[Page, str, frozenset[str] | None]:
        """One Query of the pipeline's runs index: the page, its token scope, the statuses asked for."""
        low = format_utc(since, field="since") if since else MIN_DATETIME_TEXT
        high = format_utc(until, field="until") if until else MAX_DATETIME_TEXT
        if low > high:
            raise RegistryValidationError("since must not be after until", field="since")
        condition = build_gsi_key_condition(
            PipelineRunLog, PIPELINE_RUNS_INDEX, pipeline_id, sort_op="between", sort_values=(low, high)
        )
        status_filter: Condition | None = None
        wanted: frozenset[str] | None = None
        if statuses:
            try:
                wanted = frozenset(RunStatus(s).value for s in statuses)
            except ValueError as exc:
                raise RegistryValidationError(f"statuses: {exc}", field="statuses") from None
            status_filter = In("status", tuple(sorted(wanted)))
        scope = f"runs:{pipeline_id}:{low}:{high}:{sorted(map(str, statuses or []))}"
        page = self.gateway.query(
            condition,
            limit=limit,
            newest_first=True,
            filter_condition=status_filter,
            start_key=decode_page_token(page_token, scope=scope),
        )
        return page, scope, wanted

    def _complete(self, entries: list[Item], statuses: frozenset[str] | None = None) -> list[Item]:
        """The whole runs of a page of index entries, in the page's order. The run indexes project
        only what a start or an end writes (``RUN_INDEX_ATTRIBUTES``), so an entry without the
        attribute every write sets is replaced by the item read from the table: one BatchGetItem,
        eventually consistent like the index (0.5 RCU a run up to 4 KB). A run that read misses,
        or finds in another status than its entry (a read older than the index, or a write since),
        is read again strongly consistent (1 RCU): the newest state is shown, never an older one
        than the index's, and a run just started does not vanish from its page. A run deleted since
        is left out, and so is one whose status no longer matches ``statuses``. Entries of an index
        projecting ``ALL`` (a table created before) are used as they are."""
        missing = [e for e in entries if _HOT_MARKER not in e]
        if not missing:
            return entries

        def key_of(item: Item) -> tuple[str, str]:
            return str(item["run_id"].get("S")), str(item["pipeline_id"].get("S"))

        def read(keys: list[tuple[str, str]], consistent: bool) -> dict[tuple[str, str], Item]:
            found = self.gateway.batch_get(
                [build_model_key(PipelineRunLog, run_id=r, pipeline_id=p) for r, p in keys], consistent=consistent
            )
            return {key_of(item): item for item in found}

        found = read([key_of(e) for e in missing], False)
        unsure = [key_of(e) for e in missing if found.get(key_of(e), {}).get("status") != e.get("status")]
        if unsure:
            for key in unsure:
                found.pop(key, None)
            found.update(read(unsure, True))
        whole: list[Item] = []
        for entry in entries:
            item = entry if _HOT_MARKER in entry else found.get(key_of(entry))
            if item is None:
                continue
            if statuses is not None and item.get("status", {}).get("S") not in statuses:
                continue
            whole.append(item)
        return whole

    def iter_by_pipeline(
        self,
        pipeline_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        statuses: Sequence[RunStatus | str] | None = None,
        tz: str | tzinfo | None = None,
        page_size: int = 100,
    ) -> Iterator[PipelineRunLogView]:
        """Every run of ``pipeline_id`` in the window, newest first, walking all pages."""
        return iterate_pages(
            lambda token: self.list_by_pipeline(
                pipeline_id,
                since=since,
                until=until,
                statuses=statuses,
                limit=page_size,
                page_token=token,
                tz=tz,
            )
        )

    def latest(
        self,
        pipeline_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        tz: str | tzinfo | None = None,
    ) -> PipelineRunLogView | None:
        """The newest run of ``pipeline_id`` started within the window (eventually consistent GSI),
        read whole from the table (:meth:`latest_summary`: the index entry alone)."""
        page = self.list_by_pipeline(pipeline_id, since=since, until=until, limit=1, tz=tz)
        return page.items[0] if page.items else None

    def latest_summary(
        self, pipeline_id: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> PipelineRunSummary | None:
        """The index entry of the newest run of ``pipeline_id`` started within the window, or None."""
        page = self.list_summaries(pipeline_id, since=since, until=until, limit=1)
        return page.items[0] if page.items else None

    def list_running(
        self, *, limit: int = 100, page_token: str | None = None, tz: str | tzinfo | None = None
    ) -> ResultPage[PipelineRunLogView]:
        """Runs currently RUNNING (sparse index), oldest start first; read whole from the table (the
        index holds no heartbeat: see ``_complete``), so one that ended since is shown ended."""
        condition = build_gsi_key_condition(PipelineRunLog, RUNNING_RUNS_INDEX, "true")
        page = self.gateway.query(condition, limit=limit, start_key=decode_page_token(page_token, scope="running"))
        zone = resolve_user_timezone(tz, self.config.user_timezone)
        items = self._complete(page.items)
        views = PipelineRunLogView.from_entities(
            PipelineRunLog.from_dynamodb_items(items, table=self.gateway.table_name), zone
        )
        return ResultPage(views, encode_page_token(page.last_evaluated_key, scope="running"))

    def iter_running(self, *, tz: str | tzinfo | None = None, page_size: int = 100) -> Iterator[PipelineRunLogView]:
        """Every RUNNING run, walking all pages."""
        return iterate_pages(lambda token: self.list_running(limit=page_size, page_token=token, tz=tz))

    def list_stale(
        self, threshold: timedelta, *, now: datetime | None = None, tz: str | tzinfo | None = None
    ) -> list[PipelineRunLogView]:
        """RUNNING runs whose heartbeat (or start, if none) is older than ``threshold``."""
        moment = now or utc_now()
        return [run for run in self.iter_running(tz=tz) if run.is_stale(threshold, moment)]
