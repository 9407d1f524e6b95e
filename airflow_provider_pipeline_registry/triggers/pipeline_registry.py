"""``PipelineRunStateTrigger``: the deferrable half of :class:`PipelineRunStateSensor`.

It polls the run with the same single projected read and the same decision as poke mode
(:mod:`airflow_provider_pipeline_registry.registry.run_logs.verdict`), running the synchronous read in a
worker thread so the triggerer's event loop never blocks, and reports one event:
``{"status": "success" | "failed" | "stale" | "timeout" | "error", "message": ..., ...}``.

The triggers of one event loop (one triggerer process) that carry the same ``hook_kwargs`` share
one hook, so one boto3 client and its connection pool, rebuilt after :data:`SHARED_HOOK_MAX_AGE`
seconds so that a changed connection is read again: 500 deferred sensors make 500 reads per
interval, not 500 clients. Their polls of a given run id are coalesced (:class:`RunStateBatcher`):
the polls due within :data:`BATCH_WINDOW` seconds share one consistent, projected BatchGetItem of
up to 100 keys, which costs the client about as much CPU as one GetItem; a poll alone is the same
GetItem as poke mode.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..registry.errors import RegistryValidationError
from ..registry.run_logs.verdict import (
    FATAL_READ_ERRORS,
    RUN_STATE_ATTRIBUTES,
    Outcome,
    OutcomeKind,
    RunSnapshot,
    coerce_stale_after,
    describe_target,
    evaluate_run_state,
    read_run_state,
    validate_states,
)
from ..registry.settings import SETTINGS_BY_HOOK_ARG
from ..registry.time_inputs import TimeInputError, is_relative_time, time_input, time_input_text
from ..registry.timezones import format_for_display, format_utc, parse_utc, utc_now
from ..utils.compat import BaseTrigger, TriggerEvent

if TYPE_CHECKING:
    from ..hooks.pipeline_registry import PipelineRegistryHook

CLASSPATH = "airflow_provider_pipeline_registry.triggers.pipeline_registry.PipelineRunStateTrigger"
#: the hook's connection arguments a trigger carries besides the registry settings
HOOK_CONNECTION_ARGS = frozenset({"aws_conn_id", "verify", "config"})
#: seconds a hook shared by the triggers of one event loop is used before the connection is read again
SHARED_HOOK_MAX_AGE = 600.0
#: seconds a poll waits for the polls of other triggers to read them in one BatchGetItem
BATCH_WINDOW = 0.02
#: keys of one BatchGetItem (DynamoDB's limit)
BATCH_KEYS = 100

RunKey = tuple[str, str]
Decide = Callable[[RunSnapshot | None], Outcome]


def read_run_states(hook: PipelineRegistryHook, keys: Sequence[RunKey]) -> dict[RunKey, RunSnapshot]:
    """The state of each ``(run_id, pipeline_id)`` (blocking): one GetItem for one key, else BatchGetItem."""
    runs = hook.registry.runs
    if len(keys) == 1:
        run_id, pipeline_id = keys[0]
        item = runs.get_attributes(run_id, pipeline_id, RUN_STATE_ATTRIBUTES, consistent=True)
        return {keys[0]: RunSnapshot.from_item(run_id, pipeline_id, item)} if item is not None else {}
    found = runs.get_many_attributes(keys, RUN_STATE_ATTRIBUTES, consistent=True)
    return {key: RunSnapshot.from_item(key[0], key[1], item) for key, item in found.items()}


class RunStateBatcher:
    """Coalesces the polls of one event loop's triggers (one shared hook) into batched reads.

    Used on the loop only; the read itself runs in a worker thread. A failed read fails every
    poll of its batch with the same error, as each trigger's own read would have failed.
    """

    def __init__(self, window: float = BATCH_WINDOW) -> None:
        self.window = window
        self._pending: dict[RunKey, list[tuple[asyncio.Future[Outcome], Decide]]] = {}
        self._hook: PipelineRegistryHook | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._reads: set[asyncio.Task[None]] = set()

    async def read(self, hook: PipelineRegistryHook, run_id: str, pipeline_id: str, decide: Decide) -> Outcome:
        """``decide(state)`` of the run (None: it does not exist), read with the polls due within the
        window; ``decide`` runs in the worker thread too, so the loop only hands results over."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = loop.create_future()
        self._hook = hook
        self._pending.setdefault((run_id, pipeline_id), []).append((future, decide))
        if len(self._pending) >= BATCH_KEYS:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self.window, self._flush)
        return await future

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, {}
        if batch and self._hook is not None:
            task = asyncio.get_running_loop().create_task(self._read(self._hook, batch))
            self._reads.add(task)
            task.add_done_callback(self._reads.discard)

    @staticmethod
    def _read_and_decide(
        hook: PipelineRegistryHook, batch: dict[RunKey, list[tuple[asyncio.Future[Outcome], Decide]]]
    ) -> list[tuple[asyncio.Future[Outcome], Outcome | Exception]]:
        found = read_run_states(hook, list(batch))
        results: list[tuple[asyncio.Future[Outcome], Outcome | Exception]] = []
        for key, waiting in batch.items():
            for future, decide in waiting:
                try:
                    results.append((future, decide(found.get(key))))
                except Exception as exc:  # one trigger's decision failing is that trigger's error only
                    results.append((future, exc))
        return results

    @classmethod
    async def _read(
        cls, hook: PipelineRegistryHook, batch: dict[RunKey, list[tuple[asyncio.Future[Outcome], Decide]]]
    ) -> None:
        try:
            results = await asyncio.to_thread(cls._read_and_decide, hook, batch)
        except Exception as exc:
            results = [(future, exc) for waiting in batch.values() for future, _ in waiting]
        for future, result in results:
            if future.done():  # a trigger cancelled meanwhile
                continue
            if isinstance(result, Exception):
                future.set_exception(result)
            else:
                future.set_result(result)


class SharedHooks:
    """The hooks of one event loop, one per distinct ``hook_kwargs``; safe to use from worker threads."""

    def __init__(self, max_age: float = SHARED_HOOK_MAX_AGE) -> None:
        self.max_age = max_age
        self._lock = threading.Lock()
        self._hooks: dict[str, tuple[float, PipelineRegistryHook]] = {}
        self._batchers: dict[str, RunStateBatcher] = {}

    @staticmethod
    def _key(hook_kwargs: Mapping[str, Any]) -> str:
        return json.dumps(hook_kwargs, sort_keys=True, default=str)

    def fresh(self, hook_kwargs: Mapping[str, Any]) -> PipelineRegistryHook | None:
        """The shared hook if it is built and young enough (never builds: safe on the loop)."""
        with self._lock:
            entry = self._hooks.get(self._key(hook_kwargs))
        return entry[1] if entry is not None and time.monotonic() - entry[0] < self.max_age else None

    def batcher(self, hook_kwargs: Mapping[str, Any]) -> RunStateBatcher:
        """The batcher of the triggers with these ``hook_kwargs`` (call it on the loop)."""
        return self._batchers.setdefault(self._key(hook_kwargs), RunStateBatcher())

    def get(self, hook_kwargs: Mapping[str, Any]) -> PipelineRegistryHook:
        """The shared hook for ``hook_kwargs``, built (client included) on first use or when too old."""
        key = self._key(hook_kwargs)
        with self._lock:  # one thread builds it; the others wait instead of building 500 clients
            entry = self._hooks.get(key)
            if entry is not None and time.monotonic() - entry[0] < self.max_age:
                return entry[1]
            from ..hooks.pipeline_registry import PipelineRegistryHook

            hook = PipelineRegistryHook(**hook_kwargs)
            hook.registry  # noqa: B018 - builds the client here, under the lock
            self._hooks[key] = (time.monotonic(), hook)
            return hook


_HOOKS_BY_LOOP: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, SharedHooks] = weakref.WeakKeyDictionary()


def shared_hooks(loop: asyncio.AbstractEventLoop) -> SharedHooks:
    """The :class:`SharedHooks` of ``loop`` (dropped with the loop)."""
    hooks = _HOOKS_BY_LOOP.get(loop)
    if hooks is None:
        hooks = _HOOKS_BY_LOOP[loop] = SharedHooks()
    return hooks


def _as_utc_text(value: datetime | str | None, field: str) -> str | None:
    """A window bound in the one time grammar (:mod:`..registry.time_inputs`), serializable: a
    relative one (``2h``, ``today``) stays text and is resolved at each poll in the user's timezone;
    an absolute one becomes UTC text (naive times are refused here: the triggerer knows no zone yet)."""
    return time_input_text(value, field=field, tz=None)


def _end_at_text(value: datetime | str | None) -> str | None:
    """The timeout's moment as UTC text: an absolute, aware time (the sensor fixes it when it defers)."""
    if is_relative_time(value):
        raise TimeInputError("end_at", value, "must be an absolute time with an offset, not a relative one")
    resolved = time_input(value, field="end_at", tz=None)
    return None if resolved is None else format_utc(resolved)


def next_poll_interval(
    poke_interval: float, poke_count: int, *, exponential_backoff: bool, max_wait: float | None
) -> float:
    """Seconds before poll ``poke_count + 1``: constant, or doubling from ``poke_interval``, capped by ``max_wait``."""
    interval = poke_interval * (2 ** (poke_count - 1)) if exponential_backoff else poke_interval
    return min(interval, max_wait) if max_wait is not None else interval


def checked_hook_kwargs(hook_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``hook_kwargs`` as a plain dict, refusing a key the hook does not take (named in the error).

    The keys are those of :meth:`PipelineRegistryHook.trigger_kwargs`: the connection arguments and
    the hook argument of every declared registry setting (:data:`.registry.settings.SETTINGS`).
    """
    kwargs = dict(hook_kwargs)
    for key in kwargs:
        if key not in HOOK_CONNECTION_ARGS and key not in SETTINGS_BY_HOOK_ARG:
            raise RegistryValidationError(f"hook_kwargs: {key!r} is not an argument of PipelineRegistryHook", field=key)
    return kwargs


class PipelineRunStateTrigger(BaseTrigger):
    """Wait in the triggerer until a pipeline run reaches a target state, fails, goes stale or times out.

    :param pipeline_id: the pipeline of the run.
    :param run_id: the run; None means "the latest run of the pipeline started in [since, until]".
    :param since: start of that window, latest-run mode only: an aware datetime or ISO-8601 text with
        an offset, or a relative time of :mod:`..registry.time_inputs` (``2h``, ``today``), resolved
        at each poll in the user's timezone.
    :param until: end of that window.
    :param target_states: run states that end the wait successfully.
    :param failed_states: run states that end it with a failure (disjoint from target_states).
    :param stale_after_seconds: a RUNNING run whose heartbeat (or start) is older is stale; None: never.
    :param end_at: the absolute (UTC) moment of the timeout, fixed when the sensor first deferred.
    :param poke_interval: seconds between polls.
    :param exponential_backoff: double the interval after each poll.
    :param max_wait_seconds: upper bound of the interval with backoff.
    :param continue_on_error: keep polling after a transient read error (the sensor's ``silent_fail``).
    :param hook_kwargs: :meth:`PipelineRegistryHook.trigger_kwargs` of the sensor's hook, carried whole
        (connection id, region, ``verify``, botocore config, table overrides, timezone).
    """

    def __init__(
        self,
        *,
        pipeline_id: str,
        end_at: datetime | str,
        hook_kwargs: Mapping[str, Any],
        run_id: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        target_states: Sequence[str] = ("SUCCESS",),
        failed_states: Sequence[str] = ("FAILED", "CANCELLED"),
        stale_after_seconds: float | None = None,
        poke_interval: float = 60.0,
        exponential_backoff: bool = False,
        max_wait_seconds: float | None = None,
        continue_on_error: bool = False,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        target, failed = validate_states(target_states, failed_states)
        self.pipeline_id = pipeline_id
        self.run_id = run_id
        self.since = _as_utc_text(since, "since")
        self.until = _as_utc_text(until, "until")
        self._target_set, self._failed_set = target, failed
        self.target_states = sorted(target)
        self.failed_states = sorted(failed)
        stale = coerce_stale_after(stale_after_seconds)
        self.stale_after_seconds = stale.total_seconds() if stale is not None else None
        self.end_at = _end_at_text(end_at)
        self.poke_interval = float(poke_interval)
        self.exponential_backoff = bool(exponential_backoff)
        self.max_wait_seconds = float(max_wait_seconds) if max_wait_seconds is not None else None
        self.continue_on_error = bool(continue_on_error)
        self.hook_kwargs = checked_hook_kwargs(hook_kwargs)
        self._hook: PipelineRegistryHook | None = None
        self._shared: SharedHooks | None = None

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Class path and every constructor argument (plain JSON values), so nothing is lost on hand-off."""
        return (
            CLASSPATH,
            {
                "pipeline_id": self.pipeline_id,
                "run_id": self.run_id,
                "since": self.since,
                "until": self.until,
                "target_states": list(self.target_states),
                "failed_states": list(self.failed_states),
                "stale_after_seconds": self.stale_after_seconds,
                "end_at": self.end_at,
                "poke_interval": self.poke_interval,
                "exponential_backoff": self.exponential_backoff,
                "max_wait_seconds": self.max_wait_seconds,
                "continue_on_error": self.continue_on_error,
                "hook_kwargs": dict(self.hook_kwargs),
            },
        )

    # -- the poll ------------------------------------------------------------------------------
    def _get_hook(self) -> PipelineRegistryHook:
        if self._shared is not None:  # inside run(): the hook shared by the loop's triggers
            self._hook = self._shared.get(self.hook_kwargs)
        elif self._hook is None:
            from ..hooks.pipeline_registry import PipelineRegistryHook

            self._hook = PipelineRegistryHook(**self.hook_kwargs)
        return self._hook

    def _target(self) -> str:
        return self._target_text(self._get_hook())

    def _window(self, hook: PipelineRegistryHook) -> tuple[datetime | None, datetime | None]:
        """``(since, until)`` for this poll: relative bounds count back from now, in the user's timezone."""
        tz, now = hook.user_timezone, utc_now()
        return (
            time_input(self.since, field="since", tz=tz, now=now),
            time_input(self.until, field="until", tz=tz, now=now),
        )

    def _target_text(self, hook: PipelineRegistryHook) -> str:
        since, until = self._window(hook)
        return describe_target(self.run_id, self.pipeline_id, since, until, hook.user_timezone)

    def check_once(self) -> Outcome:
        """One synchronous look at the run (blocking: call it in a worker thread)."""
        hook = self._get_hook()
        since, until = self._window(hook)
        snapshot = read_run_state(
            hook.registry.runs, pipeline_id=self.pipeline_id, run_id=self.run_id, since=since, until=until
        )
        return self._decide(snapshot)

    async def _poll(self) -> Outcome:
        """One look: a run id is read with the other triggers' polls; the latest run in a worker thread."""
        if self._shared is None or self.run_id is None:
            return await asyncio.to_thread(self.check_once)
        hook = self._shared.fresh(self.hook_kwargs)
        if hook is None:  # first poll, or the shared hook is too old: built off the loop
            hook = await asyncio.to_thread(self._get_hook)
        self._hook = hook
        return await self._shared.batcher(self.hook_kwargs).read(hook, self.run_id, self.pipeline_id, self._decide)

    def _decide(self, snapshot: RunSnapshot | None) -> Outcome:
        hook = self._hook if self._hook is not None else self._get_hook()
        stale = self.stale_after_seconds
        return evaluate_run_state(
            snapshot,
            target_states=self._target_set,
            failed_states=self._failed_set,
            stale_after=timedelta(seconds=stale) if stale is not None else None,
            now=utc_now(),
            target=self._target_text(hook),
            tz=hook.user_timezone,
        )

    def _event(self, status: str, message: str, **extra: Any) -> TriggerEvent:
        return TriggerEvent(  # type: ignore[no-untyped-call]
            {"status": status, "message": message, "pipeline_id": self.pipeline_id, "run_id": self.run_id, **extra}
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until the run's state decides the wait, or the timeout passes; yield one event."""
        if self.end_at is None:
            raise RegistryValidationError("the trigger needs end_at (when the wait times out)", field="end_at")
        end_at = parse_utc(self.end_at, field="end_at")
        self._shared = shared_hooks(asyncio.get_running_loop())
        poke_count = 0
        last_seen = "nothing read yet"
        while True:
            poke_count += 1
            try:
                outcome = await self._poll()
            except FATAL_READ_ERRORS as exc:
                yield self._event("error", str(exc), error_class=type(exc).__name__, fatal=True)
                return
            except Exception as exc:
                if not self.continue_on_error:
                    yield self._event("error", str(exc), error_class=type(exc).__name__, fatal=False)
                    return
                self.log.warning("reading the run failed (continue_on_error is set): %s", exc)
            else:
                last_seen = outcome.message
                self.log.info("%s", outcome.message)
                if outcome.kind is not OutcomeKind.WAITING:
                    yield self._event(outcome.kind.value, outcome.message, run=outcome.final_snapshot.to_dict())
                    return
            remaining = (end_at - utc_now()).total_seconds()
            if remaining <= 0:
                tz = self._hook.user_timezone if self._hook is not None else None
                yield self._event(
                    "timeout",
                    f"Sensor has timed out at {format_for_display(end_at, tz)}; last seen: {last_seen}",
                )
                return
            interval = next_poll_interval(
                self.poke_interval,
                poke_count,
                exponential_backoff=self.exponential_backoff,
                max_wait=self.max_wait_seconds,
            )
            await asyncio.sleep(min(interval, remaining))
