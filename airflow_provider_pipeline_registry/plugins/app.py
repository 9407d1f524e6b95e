"""The plugin's FastAPI app: a read-only JSON API (``/api/v1/...``) and the pages (``/ui/...``).

Mounted by Airflow's api-server under ``/pipeline-registry``. Ids travel as query parameters:
run ids contain ``/`` (``<dag_id>/<dag_run_id>``), which a path segment cannot carry.

JSON API (every route needs an authenticated user with DAG read access, see :mod:`.security`):

* ``GET api/v1/pipelines?active=&owner=&tag=&search=&limit=&page_token=``
* ``GET api/v1/pipeline?pipeline_id=`` (with its tables)
* ``GET api/v1/tables?pipeline_id=&active_only=&limit=&page_token=``
* ``GET api/v1/runs?pipeline_id=&status=&since=&until=&limit=&page_token=`` (newest first)
* ``GET api/v1/run?pipeline_id=&run_id=``

Every value shown (pages and API, every role) is redacted: values under sensitive key names, URL
userinfo and ``password=``-style pairs read ``***`` (:mod:`..registry.redaction`).

Errors are JSON ``{"detail": {"error": ..., "message": ..., ...}}``: 404 ``not_found`` for an
unknown id, 400 ``validation_error`` naming the field, 503 ``registry_unavailable``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..registry.errors import ItemNotFoundError, RegistryError, RegistryValidationError, redact
from ..registry.facade import Registry
from ..registry.run_logs import RunStatus
from . import options, pages
from .chart import duration_chart_svg
from .security import requires_registry_read
from .service import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    PipelineFilter,
    RegistryService,
    heartbeat_age_seconds,
    parse_statuses,
    run_json,
    shown_stale,
    view_json,
)

RegistryFactory = Callable[[], Registry]
RUNS_PAGE_SIZE = 25


def hook_registry_factory(aws_conn_id: str | None = None) -> RegistryFactory:
    """A factory of the registry read through ``PipelineRegistryHook(aws_conn_id=...)``, built once."""
    lock = threading.Lock()
    built: list[Registry] = []

    def factory() -> Registry:
        with lock:
            if not built:
                from ..hooks.pipeline_registry import PipelineRegistryHook

                hook = PipelineRegistryHook(aws_conn_id=aws_conn_id or options.aws_conn_id())
                built.append(hook.registry)
            return built[0]

    return factory


def _error(status_code: int, error: str, message: str, **extra: Any) -> HTTPException:
    return HTTPException(status_code, {"error": error, "message": message, **extra})


def _registry_errors(exc: RegistryError) -> HTTPException:
    if isinstance(exc, ItemNotFoundError):
        return _error(404, "not_found", exc.message, key=exc.key)
    if isinstance(exc, RegistryValidationError):
        return _error(400, "validation_error", exc.message, field=exc.field)
    return _error(503, "registry_unavailable", f"{type(exc).__name__}: {exc.message}")


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
        message = redact(f"cannot read the registry through connection {options.aws_conn_id()!r}: {exc}")
        raise _error(503, "registry_unavailable", f"{type(exc).__name__}: {message}") from None


Service = Annotated[RegistryService, Depends(get_service)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]


def create_app(registry_factory: RegistryFactory | None = None) -> FastAPI:
    """The plugin's app; ``registry_factory`` defaults to the hook on ``[pipeline_registry] aws_conn_id``."""
    factory = registry_factory or hook_registry_factory()
    options.register_sensitive_names()  # masked like Airflow masks: its names plus [core] sensitive_var_conn_names

    app = FastAPI(
        title="Pipeline Registry",
        description="Read-only view of the pipeline registry (pipelines, tables, runs).",
        dependencies=[Depends(requires_registry_read)],
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.registry_factory = factory
    api = APIRouter(prefix="/api/v1", tags=["Pipeline Registry"])
    ui = APIRouter(prefix="/ui")

    # -- JSON API --------------------------------------------------------------------------------
    @api.get("/pipelines")
    def list_pipelines(
        svc: Service,
        active: str | None = None,
        owner: str | None = None,
        tag: str | None = None,
        search: str | None = None,
        limit: Limit = DEFAULT_LIMIT,
        page_token: str | None = None,
    ) -> dict[str, Any]:
        """Pipelines in id order, with the newest run of each; ``active`` true/false, empty for all."""
        try:
            filters = PipelineFilter(_bool(active, "active"), owner, tag, search)
            page = svc.list_pipelines(filters, limit=limit, page_token=page_token)
        except RegistryError as exc:
            raise _registry_errors(exc) from None
        items = []
        for p in page.pipelines:
            last = page.last_runs.get(p.pipeline_id)
            items.append({**view_json(p), "last_run": view_json(last) if last else None})
        return {
            "pipelines": items,
            "next_page_token": page.next_page_token,
            "display_timezone": page.display_timezone,
        }

    @api.get("/pipeline")
    def get_pipeline(svc: Service, pipeline_id: str) -> dict[str, Any]:
        """One pipeline and all its tables."""
        try:
            detail = svc.get_pipeline(pipeline_id)
        except RegistryError as exc:
            raise _registry_errors(exc) from None
        return {**view_json(detail.pipeline), "tables": [view_json(t) for t in detail.tables]}

    @api.get("/tables")
    def list_tables(
        svc: Service,
        pipeline_id: str,
        active_only: bool = False,
        limit: Limit = DEFAULT_LIMIT,
        page_token: str | None = None,
    ) -> dict[str, Any]:
        """The tables of a pipeline in table id order."""
        try:
            tables, token, zone = svc.list_tables(
                pipeline_id, active_only=active_only, limit=limit, page_token=page_token
            )
        except RegistryError as exc:
            raise _registry_errors(exc) from None
        return {"tables": [view_json(t) for t in tables], "next_page_token": token, "display_timezone": zone}

    @api.get("/runs")
    def list_runs(
        svc: Service,
        pipeline_id: str,
        status: Annotated[list[str] | None, Query()] = None,
        since: str | None = None,
        until: str | None = None,
        limit: Limit = DEFAULT_LIMIT,
        page_token: str | None = None,
    ) -> dict[str, Any]:
        """Runs of a pipeline newest first; ``status`` repeatable or comma-separated; bounds in the one
        time grammar (:mod:`...registry.time_inputs`), returned resolved as ``since``/``until``."""
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
            "runs": [run_json(r) for r in page.runs],
            "next_page_token": page.next_page_token,
            "display_timezone": page.display_timezone,
            "since": page.since,
            "until": page.until,
        }

    @api.get("/run")
    def get_run(svc: Service, pipeline_id: str, run_id: str) -> dict[str, Any]:
        """One run, with ``heartbeat_age_seconds`` and ``stale`` while RUNNING."""
        try:
            run = svc.get_run(pipeline_id, run_id)
        except RegistryError as exc:
            raise _registry_errors(exc) from None
        return run_json(run)

    # -- pages -----------------------------------------------------------------------------------
    def html(template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(pages.render(template, **context), status_code=status_code)

    def page_error(exc: RegistryError) -> HTMLResponse:
        converted = _registry_errors(exc)
        detail: dict[str, Any] = converted.detail  # type: ignore[assignment]
        titles = {404: "Not found", 400: "Bad request", 503: "Registry unavailable"}
        return html(
            "message.html",
            converted.status_code,
            title=titles.get(converted.status_code, "Error"),
            message=detail["message"],
        )

    @ui.get("/", response_class=HTMLResponse)
    def pipelines_page(
        svc: Service,
        active: str | None = None,
        owner: str | None = None,
        tag: str | None = None,
        search: str | None = None,
        limit: Limit = DEFAULT_LIMIT,
        page_token: str | None = None,
    ) -> HTMLResponse:
        try:
            filters = PipelineFilter(_bool(active, "active"), owner, tag, search)
            page = svc.list_pipelines(filters, limit=limit, page_token=page_token)
        except RegistryError as exc:
            return page_error(exc)
        params = {"active": active, "owner": owner, "tag": tag, "search": search}
        return html(
            "pipelines.html",
            pipelines=page.pipelines,
            last_runs=page.last_runs,
            filters=filters,
            page_token=page_token,
            first_url=pages.query_url("./", **params),
            next_url=pages.query_url("./", **params, page_token=page.next_page_token) if page.next_page_token else None,
            display_timezone=page.display_timezone,
        )

    @ui.get("/pipeline", response_class=HTMLResponse)
    def pipeline_page(
        svc: Service,
        pipeline_id: str,
        status: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: Limit = RUNS_PAGE_SIZE,
        page_token: str | None = None,
    ) -> HTMLResponse:
        try:
            detail = svc.get_pipeline(pipeline_id)
            statuses = parse_statuses([status] if status else [])
            runs = svc.list_runs(
                pipeline_id, statuses=statuses, since=since, until=until, limit=limit, page_token=page_token
            )
        except RegistryError as exc:
            return page_error(exc)
        params = {"pipeline_id": pipeline_id, "status": status, "since": since, "until": until}
        return html(
            "pipeline.html",
            p=detail.pipeline,
            tables=detail.tables,
            runs=runs.runs,
            chart=pages.Markup(duration_chart_svg(runs.runs)),
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
            display_timezone=detail.display_timezone,
        )

    @ui.get("/run", response_class=HTMLResponse)
    def run_page(svc: Service, pipeline_id: str, run_id: str) -> HTMLResponse:
        try:
            run = svc.get_run(pipeline_id, run_id)
        except RegistryError as exc:
            return page_error(exc)
        age = heartbeat_age_seconds(run)
        return html(
            "run.html",
            r=run,
            heartbeat_age=age,
            stale=shown_stale(age),
            display_timezone=run.display_timezone,
        )

    app.include_router(api)
    app.include_router(ui)

    @app.get("/", include_in_schema=False)
    def root() -> Response:
        return RedirectResponse("ui/", status_code=307)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # the pages answer in HTML (e.g. "log in" for 401), the API in JSON
        headers = getattr(exc, "headers", None)
        if _is_page(request):
            login = exc.status_code == 401
            body = pages.render(
                "message.html",
                title="Not logged in" if login else "Error",
                message=str(exc.detail),
                login=login,
            )
            return HTMLResponse(body, status_code=exc.status_code, headers=headers)
        detail = (
            exc.detail if isinstance(exc.detail, dict) else {"error": _code(exc.status_code), "message": exc.detail}
        )
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=headers)

    return app


def _is_page(request: Request) -> bool:
    root = str(request.scope.get("root_path") or "")
    path = request.url.path
    relative = path[len(root) :] if root and path.startswith(root) else path
    return relative == "/ui" or relative.startswith("/ui/")


def _code(status_code: int) -> str:
    return {401: "not_authenticated", 403: "forbidden", 404: "not_found"}.get(status_code, "error")
