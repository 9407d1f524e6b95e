"""The plugin's FastAPI app: a read-only JSON API (``/api/v1/...``) and the pages (``/ui/...``).

Mounted by Airflow's api-server under ``/pipeline-registry``. Ids travel as query parameters:
run ids contain ``/`` (``<dag_id>/<dag_run_id>``), which a path segment cannot carry.

JSON API (every route needs an authenticated user with DAG read access, see :mod:`.security`):

* ``GET api/v1/pipelines?active=&owner=&tag=&search=&limit=&page_token=``
* ``GET api/v1/pipeline?pipeline_id=`` (with its tables)
* ``GET api/v1/tables?pipeline_id=&active_only=&limit=&page_token=``
* ``GET api/v1/runs?pipeline_id=&status=&since=&until=&limit=&page_token=`` (newest first)
* ``GET api/v1/run?pipeline_id=&run_id=``
* ``GET api/v1/watermark?table_id=&limit=`` (the committed watermark and its history, newest first)

Every value shown (pages and API, every role) is redacted: values under sensitive key names, URL
userinfo and ``password=``-style pairs read ``***`` (:mod:`..registry.redaction`).

Errors are JSON ``{"detail": {"error": ..., "message": ..., ...}}``: 404 ``not_found`` for an
unknown id, 400 ``validation_error`` naming the field, 503 ``registry_unavailable``.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..registry.errors import CorruptItemError, ItemNotFoundError, RegistryError, RegistryValidationError, redact
from ..registry.facade import Registry
from ..registry.run_logs import PipelineRunLogView, RunStatus
from . import airflow_views, options, pages
from .chart import duration_chart_svg
from .security import requires_registry_read
from .service import (
    AUTO_REFRESH_SECONDS,
    DEFAULT_LIMIT,
    MAX_LIMIT,
    BadItem,
    PipelineFilter,
    RegistryService,
    Usual,
    chart_scale,
    formatted_metrics,
    heartbeat_age_seconds,
    parse_statuses,
    run_json,
    shown_stale,
    view_json,
    watermark_json,
)

log = logging.getLogger(__name__)
RegistryFactory = Callable[[], Registry]
RUNS_PAGE_SIZE = 25
T = TypeVar("T")

#: the plugin's own threads for DynamoDB calls: Airflow's api-server runs its own sync routes in
#: anyio's shared thread pool (40 threads); the plugin's routes are async and never hold one of
#: those while DynamoDB answers (or does not), so a frozen DynamoDB cannot starve Airflow's API
UI_WORKERS = 4
#: requests admitted at once (running on :data:`UI_WORKERS` threads or waiting for one); more are
#: refused at once with 503 ``registry_busy``
UI_MAX_IN_FLIGHT = 12
#: seconds a request waits for its answer before 503 ``registry_timeout`` (its thread ends at the
#: botocore timeouts below)
UI_REQUEST_DEADLINE_SECONDS = 15.0
#: botocore timeouts and attempts of the plugin's DynamoDB client (a page must answer or fail fast)
UI_CONNECT_TIMEOUT = 2.0
UI_READ_TIMEOUT = 5.0
UI_MAX_ATTEMPTS = 2


class BoundedCalls:
    """Runs blocking registry work on the plugin's own small pool, admitting at most
    :data:`UI_MAX_IN_FLIGHT` calls (a call counts until its thread is done, also after its request
    gave up waiting) and waiting at most :data:`UI_REQUEST_DEADLINE_SECONDS` for each."""

    def __init__(
        self,
        workers: int = UI_WORKERS,
        max_in_flight: int = UI_MAX_IN_FLIGHT,
        deadline_seconds: float = UI_REQUEST_DEADLINE_SECONDS,
    ) -> None:
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pipeline-registry-ui")
        self.max_in_flight = max_in_flight
        self.deadline_seconds = deadline_seconds
        self._lock = threading.Lock()
        self.in_flight = 0

    def _done(self, _: Future[Any]) -> None:
        with self._lock:
            self.in_flight -= 1

    async def run(self, fn: Callable[[], T]) -> T:
        with self._lock:
            if self.in_flight >= self.max_in_flight:
                raise _error(
                    503,
                    "registry_busy",
                    f"the registry is busy ({self.in_flight} requests waiting for DynamoDB): try again shortly",
                )
            self.in_flight += 1
        try:
            future = self.pool.submit(fn)
        except BaseException:
            with self._lock:
                self.in_flight -= 1
            raise
        future.add_done_callback(self._done)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), self.deadline_seconds)
        except TimeoutError:
            raise _error(
                503,
                "registry_timeout",
                f"the registry did not answer within {self.deadline_seconds:.0f} s: try again shortly",
            ) from None


def hook_registry_factory(aws_conn_id: str | None = None) -> RegistryFactory:
    """A factory of the registry read through ``PipelineRegistryHook(aws_conn_id=...)``, built once,
    with the plugin's short botocore timeouts (:data:`UI_CONNECT_TIMEOUT`, :data:`UI_READ_TIMEOUT`,
    :data:`UI_MAX_ATTEMPTS`) or the connection's, whichever are shorter."""
    lock = threading.Lock()
    built: list[Registry] = []

    def factory() -> Registry:
        with lock:
            if not built:
                from ..hooks.pipeline_registry import PipelineRegistryHook

                conn_id = aws_conn_id or options.aws_conn_id()
                configured = PipelineRegistryHook(aws_conn_id=conn_id).registry_config
                hook = PipelineRegistryHook(
                    aws_conn_id=conn_id,
                    connect_timeout=min(UI_CONNECT_TIMEOUT, configured.connect_timeout),
                    read_timeout=min(UI_READ_TIMEOUT, configured.read_timeout),
                    max_attempts=min(UI_MAX_ATTEMPTS, configured.max_attempts),
                )
                built.append(hook.registry)
            return built[0]

    return factory


def _error(status_code: int, error: str, message: str, **extra: Any) -> HTTPException:
    return HTTPException(status_code, {"error": error, "message": message, **extra})


#: URLs (an endpoint, a proxy) in an error's text: never shown, they name internal hosts
_URL = re.compile(r"""\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'<>]+""")
_HOST_PORT = re.compile(r"\b(?:\d{1,3}(?:\.\d{1,3}){3}|[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)+):\d{2,5}\b")


def public_message(text: str) -> str:
    """``text`` as it may be shown to any user: redacted, and no endpoint (URL or host:port) named."""
    return _HOST_PORT.sub("<endpoint>", _URL.sub("<endpoint>", redact(text)))


def _registry_errors(exc: RegistryError) -> HTTPException:
    if isinstance(exc, ItemNotFoundError):
        return _error(404, "not_found", exc.message, key=exc.key)
    if isinstance(exc, CorruptItemError):
        bad = BadItem.of(exc)
        return _error(422, "corrupt_item", public_message(exc.message), key=bad.key, errors=bad.errors)
    if isinstance(exc, RegistryValidationError):
        return _error(400, "validation_error", exc.message, field=exc.field)
    log.warning("registry unavailable: %s", redact(str(exc)))  # the full text (endpoint included) for operators
    return _error(503, "registry_unavailable", public_message(f"{type(exc).__name__}: {exc.message}"))


def _bool(value: str | None, field: str) -> bool | None:
    if value is None or value == "":
        return None
    lowered = value.strip().lower()
    if lowered in {"true", "1", "yes"}:
        return True
    if lowered in {"false", "0", "no"}:
        return False
    raise RegistryValidationError(f"{field} must be true or false, got {value!r}", field=field)


def get_service(request: Request) -> RegistryService:
    """The request's :class:`RegistryService` (HTTP 503 when the registry cannot be reached)."""
    factory: RegistryFactory = request.app.state.registry_factory
    try:
        return RegistryService(factory())
    except RegistryError as exc:
        raise _registry_errors(exc) from None
    except Exception as exc:  # e.g. the connection is not defined
        log.warning("cannot build the registry: %s", redact(str(exc)))
        message = public_message(f"cannot read the registry through connection {options.aws_conn_id()!r}: {exc}")
        raise _error(503, "registry_unavailable", f"{type(exc).__name__}: {message}") from None


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Statuses = Annotated[list[str] | None, Query()]


def _refresh(running: bool) -> int | None:
    return AUTO_REFRESH_SECONDS if running else None


def create_app(registry_factory: RegistryFactory | None = None) -> FastAPI:
    """The plugin's app; ``registry_factory`` defaults to the hook on ``[pipeline_registry] aws_conn_id``."""
    factory = registry_factory or hook_registry_factory()
    options.register_sensitive_names()  # masked like Airflow masks: its names plus [core] sensitive_var_conn_names

    app = FastAPI(
        title="Pipeline Registry",
        description="Read-only view of the pipeline registry (pipelines, tables, runs).",
        dependencies=[Depends(requires_registry_read)],
        # served below behind the same auth as every route, with no external resource
        docs_url=None,
        openapi_url=None,
        redoc_url=None,
    )
    app.state.registry_factory = factory
    calls = BoundedCalls()
    app.state.bounded_calls = calls
    api = APIRouter(prefix="/api/v1", tags=["Pipeline Registry"])
    ui = APIRouter(prefix="/ui")

    async def bounded(request: Request, body: Callable[[RegistryService], T]) -> T:
        return await calls.run(lambda: body(get_service(request)))

    # -- JSON API --------------------------------------------------------------------------------
    @api.get("/pipelines")
    async def list_pipelines(
        request: Request,
        active: str | None = None,
        owner: str | None = None,
        tag: str | None = None,
        search: str | None = None,
        limit: Limit = DEFAULT_LIMIT,
        page_token: str | None = None,
    ) -> dict[str, Any]:
        """Pipelines in id order across pages, with the newest run of each; ``active`` true/false,
        empty for all; ``search`` finds an id prefix (or any part of the id), a name, an owner, a tag.
        The first page also has ``without_config``: the pipelines that have runs but no config."""

        def body(svc: RegistryService) -> dict[str, Any]:
            try:
                filters = PipelineFilter(_bool(active, "active"), owner, tag, search)
                page = svc.list_pipelines(filters, limit=limit, page_token=page_token)
                orphans = None if page_token else svc.pipelines_without_config()
            except RegistryError as exc:
                raise _registry_errors(exc) from None
            items = []
            for p in page.pipelines:
                last = page.last_runs.get(p.pipeline_id)
                bad_last = page.bad_last_runs.get(p.pipeline_id)
                items.append(
                    {
                        **view_json(p),
                        "last_run": run_json(last) if last else None,
                        "last_run_bad_item": bad_last.json() if bad_last else None,
                    }
                )
            return {
                "pipelines": items,
                "bad_items": [b.json() for b in page.bad_items],
                "without_config": orphans.json(filters) if orphans is not None else None,
                "next_page_token": page.next_page_token,
                "partial": page.partial,
                "display_timezone": page.display_timezone,
                "any_running": page.any_running,
                "auto_refresh_seconds": _refresh(page.any_running),
            }

        return await bounded(request, body)

    @api.get("/pipeline")
    async def get_pipeline(request: Request, pipeline_id: str) -> dict[str, Any]:
        """One pipeline and all its tables."""

        def body(svc: RegistryService) -> dict[str, Any]:
            try:
                detail = svc.get_pipeline(pipeline_id)
            except RegistryError as exc:
                raise _registry_errors(exc) from None
            return {
                **view_json(detail.pipeline),
                "tables": [view_json(t) for t in detail.tables],
                "bad_tables": [b.json() for b in detail.bad_tables],
            }

        return await bounded(request, body)

    @api.get("/tables")
    async def list_tables(
        request: Request,
        pipeline_id: str,
        active_only: bool = False,
        limit: Limit = DEFAULT_LIMIT,
        page_token: str | None = None,
    ) -> dict[str, Any]:
        """The tables of a pipeline in table id order."""

        def body(svc: RegistryService) -> dict[str, Any]:
            try:
                tables, token, zone = svc.list_tables(
                    pipeline_id, active_only=active_only, limit=limit, page_token=page_token
                )
            except RegistryError as exc:
                raise _registry_errors(exc) from None
            return {"tables": [view_json(t) for t in tables], "next_page_token": token, "display_timezone": zone}

        return await bounded(request, body)

    @api.get("/runs")
    async def list_runs(
        request: Request,
        pipeline_id: str,
        status: Statuses = None,
        since: str | None = None,
        until: str | None = None,
        limit: Limit = DEFAULT_LIMIT,
        page_token: str | None = None,
    ) -> dict[str, Any]:
        """Runs of a pipeline newest first (also of a pipeline without a config); ``status``
        repeatable or comma-separated; bounds in the one time grammar
        (:mod:`...registry.time_inputs`), returned resolved as ``since``/``until``; ``usual`` is
        the median/p90 of the recent successful runs, ``chart_scale`` how to draw the durations."""

        def body(svc: RegistryService) -> dict[str, Any]:
            try:
                page = svc.list_runs(
                    pipeline_id,
                    statuses=parse_statuses(status or []),
                    since=since,
                    until=until,
                    limit=limit,
                    page_token=page_token,
                )
            except RegistryError as exc:
                raise _registry_errors(exc) from None
            return {
                "runs": [run_json(r, usual=page.usual) for r in page.runs],
                "bad_items": [b.json() for b in page.bad_items],
                "next_page_token": page.next_page_token,
                "display_timezone": page.display_timezone,
                "since": page.since,
                "until": page.until,
                "has_config": page.has_config,
                "usual": page.usual.json() if page.usual else None,
                "chart_scale": chart_scale(page.runs),
                "any_running": page.any_running,
                "auto_refresh_seconds": _refresh(page.any_running),
            }

        return await bounded(request, body)

    @api.get("/run")
    async def get_run(request: Request, pipeline_id: str, run_id: str) -> dict[str, Any]:
        """One run, with ``heartbeat_age_seconds`` and ``stale`` while RUNNING, ``usual`` and
        ``usual_ratio`` (its duration over the median of the recent successful runs)."""

        def body(svc: RegistryService) -> dict[str, Any]:
            try:
                run = svc.get_run(pipeline_id, run_id)
                usual = svc.usual(pipeline_id)
            except RegistryError as exc:
                raise _registry_errors(exc) from None
            running = run.status is RunStatus.RUNNING
            return {
                **run_json(run, usual=usual),
                "usual": usual.json() if usual else None,
                "auto_refresh_seconds": _refresh(running),
            }

        return await bounded(request, body)

    @api.get("/watermark")
    async def get_watermark(request: Request, table_id: str, limit: Limit = DEFAULT_LIMIT) -> dict[str, Any]:
        """A table's committed watermark, its starting value and its history (commits and rewinds)."""

        def body(svc: RegistryService) -> dict[str, Any]:
            try:
                detail = svc.get_table_watermark(table_id, limit=limit)
            except RegistryError as exc:
                raise _registry_errors(exc) from None
            return watermark_json(detail)

        return await bounded(request, body)

    # -- pages -----------------------------------------------------------------------------------
    def html(template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(pages.render(template, **context), status_code=status_code)

    def page_error(exc: RegistryError) -> HTMLResponse:
        converted = _registry_errors(exc)
        detail: dict[str, Any] = converted.detail  # type: ignore[assignment]
        titles = {404: "Not found", 400: "Bad request", 422: "Bad stored item", 503: "Registry unavailable"}
        return html(
            "message.html",
            converted.status_code,
            title=titles.get(converted.status_code, "Error"),
            message=detail["message"],
        )

    @ui.get("/", response_class=HTMLResponse)
    async def pipelines_page(
        request: Request,
        active: str | None = None,
        owner: str | None = None,
        tag: str | None = None,
        search: str | None = None,
        limit: Limit = DEFAULT_LIMIT,
        page_token: str | None = None,
    ) -> HTMLResponse:
        def body(svc: RegistryService) -> HTMLResponse:
            try:
                filters = PipelineFilter(_bool(active, "active"), owner, tag, search)
                page = svc.list_pipelines(filters, limit=limit, page_token=page_token)
                orphans = None if page_token else svc.pipelines_without_config()
            except RegistryError as exc:
                return page_error(exc)
            params = {"active": active, "owner": owner, "tag": tag, "search": search}
            return html(
                "pipelines.html",
                pipelines=page.pipelines,
                last_runs=page.last_runs,
                bad_last_runs=page.bad_last_runs,
                bad_items=page.bad_items,
                orphans=orphans.matching(filters) if orphans is not None else [],
                orphans_partial=orphans is not None and orphans.partial,
                partial=page.partial,
                filters=filters,
                page_token=page_token,
                first_url=pages.query_url("./", **params),
                next_url=pages.query_url("./", **params, page_token=page.next_page_token)
                if page.next_page_token
                else None,
                display_timezone=page.display_timezone,
                auto_refresh=_refresh(page.any_running),
            )

        return await bounded(request, body)

    @ui.get("/pipeline", response_class=HTMLResponse)
    async def pipeline_page(
        request: Request,
        pipeline_id: str,
        status: Statuses = None,
        since: str | None = None,
        until: str | None = None,
        limit: Limit = RUNS_PAGE_SIZE,
        page_token: str | None = None,
    ) -> HTMLResponse:
        def body(svc: RegistryService) -> HTMLResponse:
            detail = None
            bad_config: BadItem | None = None
            try:
                try:
                    detail = svc.get_pipeline(pipeline_id)
                except CorruptItemError as exc:
                    bad_config = BadItem.of(exc)
                except ItemNotFoundError:
                    detail = None  # its runs may still exist: listed below, or 404 when none does
                watermarks = svc.committed_watermarks(detail.tables) if detail else {}
                statuses = parse_statuses(status or [])
                runs = svc.list_runs(
                    pipeline_id, statuses=statuses, since=since, until=until, limit=limit, page_token=page_token
                )
            except RegistryError as exc:
                return page_error(exc)
            params = {"pipeline_id": pipeline_id, "status": [s.value for s in statuses], "since": since, "until": until}
            return html(
                "pipeline.html",
                p=detail.pipeline if detail else None,
                pipeline_id=pipeline_id,
                bad_config=bad_config,
                tables=detail.tables if detail else [],
                bad_tables=detail.bad_tables if detail else [],
                watermarks=watermarks,
                runs=runs.runs,
                bad_items=runs.bad_items,
                usual=runs.usual,
                chart_scale=chart_scale(runs.runs),
                chart=pages.Markup(duration_chart_svg(runs.runs, runs.usual)),
                all_statuses=[s.value for s in RunStatus],
                statuses=[s.value for s in statuses],
                since=since,
                until=until,
                page_token=page_token,
                first_url=pages.query_url("pipeline", **params),
                next_url=pages.query_url(
                    "pipeline", **{**params, "since": runs.since, "until": runs.until}, page_token=runs.next_page_token
                )
                if runs.next_page_token
                else None,
                display_timezone=detail.display_timezone if detail else runs.display_timezone,
                auto_refresh=_refresh(runs.any_running),
            )

        return await bounded(request, body)

    def run_view(
        svc: RegistryService, run: PipelineRunLogView, usual: Usual | None, others: Sequence[PipelineRunLogView] = ()
    ) -> HTMLResponse:
        """The run page of one run (the registry's own run page and the tabs on Airflow's pages)."""
        age = heartbeat_age_seconds(run)
        return html(
            "run.html",
            r=run,
            others=list(others),
            bad_item=None,
            watermark_moves=svc.run_watermarks(run),
            heartbeat_age=age,
            stale=shown_stale(age),
            usual=usual,
            usual_ratio=usual.ratio(run) if usual else None,
            metrics_formatted=formatted_metrics(run.metrics),
            display_timezone=run.display_timezone,
            auto_refresh=_refresh(run.status is RunStatus.RUNNING),
        )

    @ui.get("/run", response_class=HTMLResponse)
    async def run_page(request: Request, pipeline_id: str, run_id: str) -> HTMLResponse:
        def body(svc: RegistryService) -> HTMLResponse:
            try:
                run = svc.get_run(pipeline_id, run_id)
                usual = svc.usual(pipeline_id)
            except CorruptItemError as exc:
                bad = BadItem.of(exc)
                return html("run.html", r=None, bad_item=bad, pipeline_id=pipeline_id, run_id=run_id)
            except RegistryError as exc:
                return page_error(exc)
            return run_view(svc, run, usual)

        return await bounded(request, body)

    @ui.get("/table", response_class=HTMLResponse)
    async def table_page(request: Request, table_id: str, limit: Limit = DEFAULT_LIMIT) -> HTMLResponse:
        def body(svc: RegistryService) -> HTMLResponse:
            try:
                detail = svc.get_table_watermark(table_id, limit=limit)
            except RegistryError as exc:
                return page_error(exc)
            return html("table.html", w=detail, t=detail.table, display_timezone=detail.display_timezone)

        return await bounded(request, body)

    @ui.get("/airflow", response_class=HTMLResponse)
    async def airflow_page(
        request: Request, dag_id: str, dag_run_id: str, task_id: str | None = None, map_index: str | None = None
    ) -> HTMLResponse:
        """The registry's view of an Airflow dag run or task instance (the tabs on Airflow's pages)."""

        def body(svc: RegistryService) -> HTMLResponse:
            try:
                runs = airflow_views.runs_of_airflow(
                    svc, dag_id, dag_run_id, task_id, airflow_views.parse_map_index(map_index)
                )
                usual = svc.usual(runs[0].pipeline_id) if runs else None
            except CorruptItemError as exc:
                bad = BadItem.of(exc)
                return html("run.html", r=None, bad_item=bad, pipeline_id=bad.key.get("pipeline_id", ""), run_id="")
            except RegistryError as exc:
                return page_error(exc)
            if not runs:
                return html("message.html", title="No registry run", message=pages.no_run_message(dag_id, dag_run_id))
            return run_view(svc, runs[0], usual, others=runs[1:])

        return await bounded(request, body)

    app.include_router(api)
    app.include_router(ui)

    @app.get("/", include_in_schema=False)
    def root() -> Response:
        return RedirectResponse("ui/", status_code=307)

    # -- API docs: behind the app's auth (its dependency), self-contained (no CDN) ---------------
    @app.get("/api/openapi.json", include_in_schema=False)
    def openapi_json() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/api/docs", include_in_schema=False, response_class=HTMLResponse)
    def api_docs() -> HTMLResponse:
        return html("api_docs.html", operations=_operations(app.openapi()))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        # a page answers with a page naming the field; the API keeps FastAPI's 422 JSON
        if not _is_page(request):
            return await request_validation_exception_handler(request, exc)
        problems = []
        for err in exc.errors():
            where = ".".join(str(part) for part in err.get("loc", ())[1:]) or "request"
            problems.append(f"{where}: {err.get('msg', 'invalid')}")
        body = pages.render("message.html", title="Bad request", message="; ".join(problems))
        return HTMLResponse(body, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # the pages answer in HTML (e.g. "log in" for 401), the API in JSON
        headers = getattr(exc, "headers", None)
        if _is_page(request):
            login = exc.status_code == 401
            message = exc.detail.get("message", "") if isinstance(exc.detail, dict) else str(exc.detail)
            body = pages.render(
                "message.html",
                title="Not logged in" if login else "Error",
                message=message,
                login=login,
            )
            return HTMLResponse(body, status_code=exc.status_code, headers=headers)
        detail = (
            exc.detail if isinstance(exc.detail, dict) else {"error": _code(exc.status_code), "message": exc.detail}
        )
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=headers)

    return app


def _operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The API's operations for the docs page: method, path, summary, description, parameters."""
    operations = []
    for path, methods in sorted(schema.get("paths", {}).items()):
        for method, op in methods.items():
            params = [
                {
                    "name": p.get("name"),
                    "in": p.get("in"),
                    "required": bool(p.get("required")),
                    "description": p.get("description") or "",
                }
                for p in op.get("parameters", [])
            ]
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "parameters": params,
                }
            )
    return operations


def _is_page(request: Request) -> bool:
    root = str(request.scope.get("root_path") or "")
    path = request.url.path
    relative = path[len(root) :] if root and path.startswith(root) else path
    return relative == "/ui" or relative.startswith("/ui/") or relative == "/api/docs"


def _code(status_code: int) -> str:
    return {401: "not_authenticated", 403: "forbidden", 404: "not_found"}.get(status_code, "error")
