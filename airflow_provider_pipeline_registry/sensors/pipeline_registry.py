"""``PipelineRunStateSensor``: wait until a pipeline run reaches a target state.

Poke, reschedule and deferrable modes share one read and one decision
(:mod:`.run_state`), so a run that fails, goes stale, never appears or succeeds ends the same way
in each mode:

=====================================  ==============================================================
what the sensor sees                   outcome
=====================================  ==============================================================
a target state                         success; XCom = the run's final view (JSON)
a failed state                         :class:`PipelineRunFailedError` at once (never soft-failed)
RUNNING, heartbeat older than stale    :class:`PipelineRunStaleError` at once (never soft-failed)
access / validation / missing table    :class:`PipelineRunReadError` at once (never soft-failed)
no run, and the pipeline is not in     :class:`PipelineNotInRegistryError` at once, naming the closest
the registry (no config, no runs)      pipeline ids (never soft-failed); ``allow_unknown_pipeline=True``
                                       waits instead
no run (yet), still running            keep waiting until ``timeout``: AirflowSensorTimeout, or
                                       AirflowSkipException with ``soft_fail``
=====================================  ==============================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from ..hooks.mixins import registry_template_fields
from ..links import persist_run_links
from ..registry import errors as registry_errors
from ..registry.errors import (
    AccessDeniedError,
    RegistryError,
    RegistryValidationError,
    TableNotFoundError,
    UnknownPipelineError,
)
from ..registry.run_logs.verdict import (
    DEFAULT_FAILED_STATES,
    DEFAULT_TARGET_STATES,
    FATAL_READ_ERRORS,
    Outcome,
    OutcomeKind,
    RunSnapshot,
    coerce_stale_after,
    describe_target,
    evaluate_run_state,
    read_run_state,
    validate_states,
)
from ..registry.time_inputs import is_relative_time, time_input
from ..registry.timezones import format_for_display, utc_now
from ..utils.compat import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    Context,
    PokeReturnValue,
)
from .base import PipelineRegistryBaseSensor
from .timeout_budget import first_poke_at, remaining_seconds

if TYPE_CHECKING:
    from ..registry.run_logs import RunStatus

#: extra time the task's deferral timeout leaves the trigger to report its own timeout event
DEFERRAL_GRACE = timedelta(seconds=60)


class PipelineRunSensorFailure(AirflowFailException):
    """The sensor failed for a reason waiting cannot fix; ``soft_fail`` never turns it into a skip."""


class PipelineRunFailedError(PipelineRunSensorFailure):
    """The run reached one of ``failed_states``; the message carries the run's recorded error."""

    def __init__(self, message: str, snapshot: RunSnapshot | None = None) -> None:
        super().__init__(message)
        self.snapshot = snapshot


class PipelineRunStaleError(PipelineRunSensorFailure):
    """The run is RUNNING but its heartbeat (or start) is older than ``stale_after``."""

    def __init__(self, message: str, snapshot: RunSnapshot | None = None) -> None:
        super().__init__(message)
        self.snapshot = snapshot


class PipelineRunReadError(PipelineRunSensorFailure):
    """Reading the run failed with an access, validation or missing-table error."""

    def __init__(self, message: str, error_class: str) -> None:
        super().__init__(message)
        self.error_class = error_class


class PipelineNotInRegistryError(PipelineRunSensorFailure):
    """No run, and the pipeline id is not in the registry (no config, no runs): a typo waits for
    nothing. ``pipeline_id`` and ``close_matches`` (the registry's closest ids) name it."""

    def __init__(self, message: str, pipeline_id: str, close_matches: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.pipeline_id = pipeline_id
        self.close_matches = list(close_matches)


def _rebuild_registry_error(error_class: str, message: str) -> RegistryError:
    """The registry error a trigger reported by name (RegistryError for an unknown name)."""
    candidate = getattr(registry_errors, error_class, None)
    if isinstance(candidate, type) and issubclass(candidate, RegistryError):
        try:
            return candidate(message)
        except TypeError:  # pragma: no cover - every registry error takes a message
            pass
    return RegistryError(f"{error_class}: {message}")


def _default_deferrable() -> bool:
    """Airflow's ``[operators] default_deferrable`` (False when unset), as Airflow's own sensors take it."""
    from airflow.configuration import conf

    return conf.getboolean("operators", "default_deferrable", fallback=False)


def _window_bound(value: datetime | str | None, field: str, tz: tzinfo) -> datetime | None:
    """A window bound as aware UTC, in the one time grammar (:mod:`..registry.time_inputs`); a
    relative one (``2h``, ``today``) counts back from this look. ``"None"`` is a rendered None."""
    return time_input(None if value == "None" else value, field=field, tz=tz)


def _for_trigger(value: datetime | str | None, resolved: datetime | None) -> datetime | str | None:
    """What the trigger gets for a window bound: a relative one as its text (the trigger resolves it
    at each poll, as the sensor does at each look), anything else as resolved."""
    return value.strip() if isinstance(value, str) and is_relative_time(value) else resolved


class PipelineRunStateSensor(PipelineRegistryBaseSensor):
    """Wait until a pipeline run (or the latest run of a pipeline in a window) reaches a target state.

    :param pipeline_id: the pipeline of the run (templated).
    :param run_id: the run (templated). None: the latest run of ``pipeline_id`` started within
        ``[since, until]``, found through the pipeline's GSI on every poke.
    :param since: start of that window (templated), in the one time grammar of
        :mod:`~airflow_provider_pipeline_registry.registry.time_inputs`: aware datetime or ISO-8601
        text (a naive value or a date is read in the user's timezone), ``now``, ``today`` or an age
        (``2h``, ``1d``; counted back from each look). Latest-run mode only.
    :param until: end of that window (templated).
    :param target_states: run states that end the wait successfully (default SUCCESS).
    :param failed_states: run states that fail the sensor at once (default FAILED, CANCELLED);
        must be disjoint from ``target_states``.
    :param stale_after: a RUNNING run whose heartbeat (or, without one, its start) is older than this
        (timedelta, seconds, or text such as ``15m``) fails the sensor as stale; None (default) never judges staleness.
    :param allow_unknown_pipeline: wait even when ``pipeline_id`` is not in the registry (no config,
        no run recorded), e.g. a pipeline created later. False (default): while no run is found, the
        first look checks the id and fails at once with :class:`PipelineNotInRegistryError` (naming
        the closest ids) when it is unknown, in every mode (the deferrable sensor checks before deferring).
    :param deferrable: wait in the triggerer (:class:`PipelineRunStateTrigger`), holding no worker slot,
        after one look in the worker (a run that already ended needs no trigger). None (default): Airflow's
        ``[operators] default_deferrable`` (False unless configured).

    ``aws_conn_id`` (a keyword of the base sensor): the ``aws`` connection of the registry (registry
    settings in its extras; templated). ``region_name``, ``table_prefix`` (templated), ``user_timezone``,
    ``verify``, ``botocore_config`` and any other registry setting by its hook argument name
    (``environment``, ``run_logs_table``, ``max_attempts``... see
    :data:`~airflow_provider_pipeline_registry.registry.settings.SETTINGS`): as every registry
    task (:class:`~.base.PipelineRegistryBaseSensor`).

    ``timeout``, ``soft_fail``, ``poke_interval``, ``exponential_backoff``, ``max_wait``,
    ``silent_fail``, ``never_fail`` and ``mode`` are those of every Airflow sensor; ``soft_fail``
    only ever applies to the timeout.
    """

    template_fields: Sequence[str] = registry_template_fields("pipeline_id", "run_id", "since", "until")
    ui_color = "#d8e8f4"

    def __init__(
        self,
        *,
        pipeline_id: str,
        run_id: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        target_states: Iterable[RunStatus | str] = DEFAULT_TARGET_STATES,
        failed_states: Iterable[RunStatus | str] = DEFAULT_FAILED_STATES,
        stale_after: timedelta | float | str | None = None,
        allow_unknown_pipeline: bool = False,
        deferrable: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(pipeline_id=pipeline_id, **kwargs)
        #: the configured timeout; ``self.timeout`` is what is left of it for the current try
        self.timeout_budget = self.timeout
        target, failed = validate_states(target_states, failed_states)
        if run_id is not None and (since is not None or until is not None):
            raise RegistryValidationError(
                "since/until select the latest run; they cannot be used with run_id", field="since"
            )
        self.run_id = run_id
        self.since = since
        self.until = until
        self.target_states = sorted(target)
        self.failed_states = sorted(failed)
        self.stale_after = coerce_stale_after(stale_after)
        self.allow_unknown_pipeline = bool(allow_unknown_pipeline)
        #: the pipeline is known to be in the registry (checked once per execution, when no run is found)
        self._pipeline_known = self.allow_unknown_pipeline
        self.deferrable = _default_deferrable() if deferrable is None else bool(deferrable)

    # -- the shared decision -------------------------------------------------------------------
    def _window(self, tz: tzinfo) -> tuple[datetime | None, datetime | None]:
        return _window_bound(self.since, "since", tz), _window_bound(self.until, "until", tz)

    def _run_id(self) -> str | None:
        return None if self.run_id in (None, "") else str(self.run_id)

    def _inputs(self) -> tuple[tzinfo, str | None, datetime | None, datetime | None]:
        """(user timezone, run id, since, until); a bad setting fails at once like a bad read."""
        try:
            tz = self.hook.user_timezone
            since, until = self._window(tz)
        except FATAL_READ_ERRORS as exc:
            raise PipelineRunReadError(f"{type(exc).__name__}: {exc}", type(exc).__name__) from exc
        return tz, self._run_id(), since, until

    def _check(self) -> Outcome:
        """One look at the run: one projected consistent read, then :func:`evaluate_run_state`."""
        tz, run_id, since, until = self._inputs()
        try:
            snapshot = read_run_state(
                self.hook.registry.runs, pipeline_id=self.pipeline_id, run_id=run_id, since=since, until=until
            )
        except FATAL_READ_ERRORS as exc:
            raise PipelineRunReadError(f"{type(exc).__name__}: {exc}", type(exc).__name__) from exc
        return evaluate_run_state(
            snapshot,
            target_states=frozenset(self.target_states),
            failed_states=frozenset(self.failed_states),
            stale_after=self.stale_after,
            now=utc_now(),
            target=describe_target(run_id, self.pipeline_id, since, until, tz),
            tz=tz,
        )

    def _final_view(self, snapshot: RunSnapshot) -> dict[str, Any]:
        """The run as XCom: its full view (status, times in the user's timezone, metrics, error)."""
        view = self.hook.registry.runs.find_by_id(
            snapshot.run_id, snapshot.pipeline_id, consistent=True, tz=self.hook.user_timezone
        )
        return view.model_dump(mode="json") if view is not None else snapshot.to_dict()

    def _conclude(self, outcome: Outcome) -> bool | PokeReturnValue:
        """Turn an outcome into the sensor's answer; the same for poke and ``execute_complete``."""
        if outcome.kind is OutcomeKind.WAITING:
            return False
        snapshot = outcome.final_snapshot
        if outcome.kind is OutcomeKind.FAILED:
            raise PipelineRunFailedError(outcome.message, snapshot)
        if outcome.kind is OutcomeKind.STALE:
            raise PipelineRunStaleError(outcome.message, snapshot)
        return PokeReturnValue(is_done=True, xcom_value=self._final_view(snapshot))

    def _require_known_pipeline(self) -> None:
        """While no run is found: fail at once when the pipeline is not in the registry (checked once
        per execution; skipped with ``allow_unknown_pipeline``). A config table this connection may
        not read (or that is missing) cannot tell: the sensor then waits, as before, with a warning."""
        if self._pipeline_known:
            return
        from ..registry.pipeline_ids import require_known_pipeline

        try:
            require_known_pipeline(self.hook.registry, self.pipeline_id)
        except UnknownPipelineError as exc:
            raise PipelineNotInRegistryError(
                f"{exc.message}: check pipeline_id (and the connection's table prefix), or pass "
                "allow_unknown_pipeline=True to wait for a pipeline created later",
                exc.pipeline_id,
                exc.close_matches,
            ) from exc
        except (AccessDeniedError, TableNotFoundError) as exc:
            self.log.warning(
                "cannot check that pipeline %r is in the registry (%s: %s); waiting for its run",
                self.pipeline_id,
                type(exc).__name__,
                exc,
            )
        self._pipeline_known = True

    def _persist_links(self, context: Context, outcome: Outcome) -> None:
        """When the wait ends on a run: persist it for the task's extra links (with the Spark UI
        address the run recorded, one projected read), before the task succeeds or fails."""
        if outcome.kind is OutcomeKind.WAITING or outcome.snapshot is None or not self.do_xcom_push:
            return
        run_id, pipeline_id = outcome.snapshot.run_id, outcome.snapshot.pipeline_id
        try:
            found = self.hook.registry.runs.get_attributes(run_id, pipeline_id, ["spark_ui_url"], consistent=True)
        except RegistryError as exc:  # the links are never worth failing the task for
            self.log.info("run %s: no Spark UI address for the links (%s)", run_id, type(exc).__name__)
            found = None
        persist_run_links(
            context, self, pipeline_id=pipeline_id, run_id=run_id, spark_ui_url=(found or {}).get("spark_ui_url")
        )

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """One look at the run; logs its state and times in the user's timezone."""
        outcome = self._check()
        self._persist_links(context, outcome)
        if outcome.kind is OutcomeKind.WAITING and outcome.snapshot is None:
            self._require_known_pipeline()
        self.log.info("%s", outcome.message)
        return self._conclude(outcome)

    # -- soft_fail applies to the timeout only -------------------------------------------------
    def _unless_soft_fail_hid_a_failure(self, skip: AirflowSkipException) -> None:
        """Airflow's sensor turns any AirflowFailException into a skip under ``soft_fail``; undo that
        for this sensor's failures (a failed or stale run is never a soft failure)."""
        cause = skip.__cause__
        if self.soft_fail and isinstance(cause, PipelineRunSensorFailure):
            raise cause

    def _continue_timeout(self, context: Context) -> None:
        """Count the timeout from the first poke of this series of tries, across retries.

        In reschedule mode Airflow does that itself (from the first reschedule's date); in poke
        and deferrable mode a retry would otherwise start the whole timeout again.
        """
        if self.mode == "reschedule" and not self.deferrable:
            return
        now = utc_now()
        first = first_poke_at(
            context, retries=self.retries, now=now, keep_for=timedelta(seconds=self.timeout_budget, days=1)
        )
        self.timeout = remaining_seconds(self.timeout_budget, first, now)
        try:
            tz: tzinfo | None = self.hook.user_timezone
        except Exception:  # a bad setting is reported by the first poke, with its own error
            tz = None
        self.log.info(
            "timeout: %.1f s of %.0f s left, counted from the first poke at %s",
            self.timeout,
            self.timeout_budget,
            format_for_display(first, tz),
        )

    def execute(self, context: Context) -> Any:
        """Poke / reschedule through Airflow's sensor loop, or defer to the trigger."""
        self._continue_timeout(context)
        if self.deferrable:
            try:
                done, xcom_value = self._poke_before_deferring(context)
                if done:
                    return xcom_value
                self._defer()
            except (PipelineRunSensorFailure, RegistryError) as failure:
                if self.never_fail:  # as poke mode: never_fail skips whatever the poke raised
                    raise AirflowSkipException("Skipping due to never_fail is set to True.") from failure
                raise
        try:
            return super().execute(context)
        except AirflowSkipException as skip:
            self._unless_soft_fail_hid_a_failure(skip)
            raise

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Context) -> Any:
        """Airflow's resume (deferral timeout -> AirflowSensorTimeout, soft_fail/never_fail), with the
        same exceptions to soft_fail as poke mode."""
        try:
            return super().resume_execution(next_method, next_kwargs, context)
        except AirflowSkipException as skip:
            self._unless_soft_fail_hid_a_failure(skip)
            raise
        except AirflowException:
            raise
        except Exception as exc:
            if self.never_fail:  # poke mode skips every poke error under never_fail
                raise AirflowSkipException("Skipping due to never_fail is set to True.") from exc
            raise

    # -- deferrable ------------------------------------------------------------------------------
    def _poke_before_deferring(self, context: Context) -> tuple[bool, Any]:
        """One look in the worker before deferring, as Airflow's own deferrable sensors do: a run that
        already ended (or failed, or went stale) ends the task without a triggerer round trip.

        (done, XCom value). A transient read error fails the try as in poke mode, unless ``silent_fail``
        (then the trigger keeps reading).
        """
        try:
            answer = self.poke(context)
        except PipelineRunSensorFailure:
            raise
        except RegistryError as exc:
            if not self.silent_fail:
                raise
            self.log.warning("reading the run failed (%s: %s); deferring anyway (silent_fail)", type(exc).__name__, exc)
            return False, None
        if isinstance(answer, PokeReturnValue):
            return answer.is_done, answer.xcom_value
        return bool(answer), None

    def _defer(self) -> None:
        from ..triggers.pipeline_registry import PipelineRunStateTrigger

        end_at = utc_now() + timedelta(seconds=self.timeout)
        _, run_id, since, until = self._inputs()
        try:
            hook_kwargs = self.hook.trigger_kwargs()
        except FATAL_READ_ERRORS as exc:
            raise PipelineRunReadError(f"{type(exc).__name__}: {exc}", type(exc).__name__) from exc
        trigger = PipelineRunStateTrigger(
            pipeline_id=self.pipeline_id,
            run_id=run_id,
            since=_for_trigger(self.since, since),
            until=_for_trigger(self.until, until),
            target_states=self.target_states,
            failed_states=self.failed_states,
            stale_after_seconds=self.stale_after.total_seconds() if self.stale_after is not None else None,
            end_at=end_at,
            poke_interval=self.poke_interval,
            exponential_backoff=self.exponential_backoff,
            max_wait_seconds=self.max_wait.total_seconds() if self.max_wait is not None else None,
            continue_on_error=self.silent_fail,
            hook_kwargs=hook_kwargs,
        )
        self.defer(
            trigger=trigger,
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout) + max(DEFERRAL_GRACE, timedelta(seconds=2 * self.poke_interval)),
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Map the trigger's event to the same outcome poke mode reaches."""
        if not event:
            raise AirflowException("the trigger ended without an event")
        status = event.get("status")
        message = str(event.get("message") or "")
        if status == "timeout":
            raise AirflowSensorTimeout(message)
        if status == "error":
            error_class = str(event.get("error_class") or "RegistryError")
            if event.get("fatal"):
                raise PipelineRunReadError(f"{error_class}: {message}", error_class)
            raise _rebuild_registry_error(error_class, message)
        try:
            kind = OutcomeKind(str(status))
        except ValueError:
            raise AirflowException(f"unexpected trigger event {event!r}") from None
        outcome = Outcome(kind, message, RunSnapshot.from_dict(event["run"]) if event.get("run") else None)
        self._persist_links(context, outcome)
        self.log.info("%s", outcome.message)
        answer = self._conclude(outcome)
        if isinstance(answer, PokeReturnValue):
            return answer.xcom_value
        raise AirflowException(f"the trigger reported {status!r}, which does not end the wait")
