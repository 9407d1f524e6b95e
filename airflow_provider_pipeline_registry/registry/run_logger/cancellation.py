"""Cancellation: SIGTERM/SIGINT, or the death of the spark-submit parent, end the run CANCELLED
and the process exits within :data:`CANCEL_EXIT_SECONDS` of the signal, whatever DynamoDB does.

The signal handler only records the request (plain assignments: no I/O, no lock, never nested);
the main thread raises :class:`PipelineRunCancelled` at once, or when it leaves the few sections
that hold the metrics lock (``_locked``). Every wait of the main thread for a helper thread is
bounded by the exit deadline a signal starts. A watcher thread turns the parent's death into ONE
SIGTERM, handled like a real one. :class:`SignalCancellation` holds this state and behaviour for
``PipelineRunLogger``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import select
import signal
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar, cast

from .spark import _PARENT_EXIT_WAIT_SECONDS, _looks_like_lost_jvm

if TYPE_CHECKING:
    from datetime import datetime

    from ..run_logs import RunStatus

log = logging.getLogger(__name__.rpartition(".")[0])  # the package's logger (its name as before the split)

SIGTERM_EXIT_CODE = 128 + signal.SIGTERM
#: the one bound of the exit after SIGTERM/SIGINT (or the death of the spark-submit parent): the
#: process leaves the ``with`` (end write, thread joins and the previous handler's call included)
#: at most this many seconds after the signal, whatever DynamoDB does (stalled, throttling)
CANCEL_EXIT_SECONDS = 15.0
#: of that bound, kept for what follows the ``with``: the previous handler and the interpreter's
#: own exit (0.3 s on an idle machine, 2 s under two busy processes per core); the logger stops
#: waiting for DynamoDB this long before the bound
_EXIT_RESERVE_SECONDS = 5.0
_HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGINT)
#: how often a main thread waiting for a helper thread re-reads the exit deadline
_WAIT_SLICE_SECONDS = 0.05
_HandlerType = Callable[[int, FrameType | None], Any] | int | None
_R = TypeVar("_R")


class PipelineRunCancelled(SystemExit):
    """Raised in the job's main thread when SIGTERM/SIGINT (or the death of the spark-submit
    parent) cancels the run. A ``SystemExit`` (exit code 128 + signal), so ``except Exception``
    in the job does not swallow it; the logger records CANCELLED when it leaves the ``with``."""

    def __init__(self, signum: int, reason: str) -> None:
        super().__init__(128 + signum)
        self.signum = signum
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class _ExitDeadlinePassed(Exception):
    """A helper thread's DynamoDB call outlived the exit deadline set by a signal."""


class SignalCancellation:
    """The cancellation state and behaviour of a ``PipelineRunLogger`` (its base class)."""

    # set by PipelineRunLogger.__init__
    run_id: str
    heartbeat_interval: float
    end_retry_seconds: float
    handle_sigterm: bool
    watch_parent: bool
    _phase: str
    _lock: threading.Lock
    _stop: threading.Event

    def _init_cancellation(self) -> None:
        # signal state: written by the handler with plain assignments (no lock, no I/O)
        self._previous_handlers: dict[int, _HandlerType] = {}
        self._in_handler = False  # the handler's re-entrancy guard
        self._critical = 0  # > 0 while the main thread holds the metrics lock: a signal waits
        self._exit_deadline: float | None = None  # time.monotonic() of the latest exit, set by a signal
        self._cancel_signum: int | None = None
        self._cancel_reason: str | None = None
        self._cancel_raised = False
        self._late_signum: int | None = None
        self._wake_r = -1
        self._wake_w = -1
        self._main_ident = threading.main_thread().ident
        self._parent_pid = os.getppid()

    def _when(self, value: datetime | None = None) -> str:
        raise NotImplementedError

    def _write_end(self, status: RunStatus, error_type: str | None, message: str | None, *, budget: float) -> None:
        raise NotImplementedError

    # -- bounded waits: the main thread never blocks past the exit deadline ---------------------
    def _set_exit_deadline(self) -> None:
        """Start the exit bound now (plain assignment; also called by the signal handler)."""
        if self._exit_deadline is None:
            self._exit_deadline = time.monotonic() + CANCEL_EXIT_SECONDS - _EXIT_RESERVE_SECONDS

    def _wait_for(self, thread: threading.Thread, *, default_deadline: float | None = None) -> bool:
        """Join ``thread`` until it ends (True) or the exit deadline passes (False).

        The deadline is re-read every slice: a signal arriving during the wait bounds it. Without
        a signal, ``default_deadline`` (None: none) applies."""
        while thread.is_alive():
            deadline = self._exit_deadline if self._exit_deadline is not None else default_deadline
            remaining = _WAIT_SLICE_SECONDS if deadline is None else deadline - time.monotonic()
            if remaining <= 0:
                return False
            thread.join(min(remaining, _WAIT_SLICE_SECONDS))
        return True

    def _call_bounded(self, name: str, call: Callable[[], _R]) -> _R:
        """``call()`` made by a daemon thread, waited for until the exit deadline (then
        :class:`_ExitDeadlinePassed`; the thread is abandoned and dies with the process)."""
        box: dict[str, Any] = {}

        def target() -> None:
            try:
                box["value"] = call()
            except BaseException as error:
                box["error"] = error

        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        if not self._wait_for(thread):
            raise _ExitDeadlinePassed(name)
        if "error" in box:
            raise box["error"]
        return cast("_R", box["value"])

    def _parent_gone(self, exc: BaseException) -> bool:
        """Under spark-submit, a job that lost its JVM (killed spark-submit) was cancelled, not failed.

        The gateway error can reach Python a while before the kernel re-parents the driver (the
        JVM runs its shutdown hooks first), so wait for it when the error looks like a lost JVM.
        """
        if not self.watch_parent:
            return False
        deadline = time.monotonic() + (_PARENT_EXIT_WAIT_SECONDS if _looks_like_lost_jvm(exc) else 0.0)
        while True:
            if os.getppid() != self._parent_pid:
                return True
            if time.monotonic() >= min(deadline, self._exit_deadline or math.inf):
                return False
            time.sleep(0.05)

    # -- watcher thread: the death of the parent process ----------------------------------------
    def _watch_loop(self) -> None:
        """Wakes on the self-pipe (written when the logger stops) or every tick. Never writes to
        DynamoDB while the main thread may, and never signals the main thread while a
        cancellation is pending: it routes the parent's death through ONE SIGTERM, handled like
        a real one, then stops."""
        tick = min(self.heartbeat_interval, 1.0) if self.watch_parent else 1.0
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self._wake_r], [], [], tick) if self._wake_r >= 0 else ([], [], [])
                if ready:
                    os.read(self._wake_r, 512)
            except (OSError, ValueError):  # the pipe was closed: the logger is ending
                return
            if self._stop.is_set() or self._phase != "running":
                return
            if self.watch_parent and self._cancel_signum is None and os.getppid() != self._parent_pid:
                log.warning(
                    "run %s: the parent process (pid %d, e.g. spark-submit) is gone at %s: cancelling the run",
                    self.run_id,
                    self._parent_pid,
                    self._when(),
                )
                if not self._handlers_installed:
                    self._parent_died_without_handler()
                    return
                self._cancel_reason = f"parent process {self._parent_pid} exited"
                self._set_exit_deadline()
                if self._cancel_signum is None:  # no signal came meanwhile: deliver one, once
                    signal.pthread_kill(cast(int, self._main_ident), signal.SIGTERM)
                return

    def _parent_died_without_handler(self) -> None:
        """No signal handler to route through (handle_sigterm=False, or entered off the main
        thread): write the end from here (reentrant, no lock across I/O, bounded by the exit
        deadline), then SIGTERM ourselves."""
        from ..run_logs import RunStatus

        self._set_exit_deadline()
        self._write_end(
            RunStatus.CANCELLED,
            "Cancelled",
            f"parent process {self._parent_pid} exited",
            budget=min(self.end_retry_seconds, CANCEL_EXIT_SECONDS),
        )
        os.kill(os.getpid(), signal.SIGTERM)

    # -- signals -------------------------------------------------------------------------------
    @property
    def _handlers_installed(self) -> bool:
        return bool(self._previous_handlers)

    def _install_signal_handlers(self) -> None:
        if not self.handle_sigterm or threading.current_thread() is not threading.main_thread():
            return
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        for signum in _HANDLED_SIGNALS:
            previous = signal.getsignal(signum)
            if previous == signal.SIG_IGN:
                continue
            self._previous_handlers[signum] = previous
            signal.signal(signum, self._on_signal)

    def _restore_signal_handlers(self) -> dict[int, _HandlerType]:
        previous, self._previous_handlers = self._previous_handlers, {}
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        return previous

    def _close_wake_pipe(self) -> None:
        for name in ("_wake_r", "_wake_w"):
            fd = getattr(self, name)
            if fd >= 0:
                setattr(self, name, -1)
                with contextlib.suppress(OSError):
                    os.close(fd)

    def _wake(self) -> None:
        """Wake the watcher thread (never called from the signal handler)."""
        fd = self._wake_w
        if fd >= 0:
            with contextlib.suppress(OSError):  # full (a wake-up is pending anyway) or closed
                os.write(fd, b"\0")

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        """The SIGTERM/SIGINT handler: plain assignments only (no I/O, no lock, no logging).

        It starts the exit deadline, records the request and raises PipelineRunCancelled unless
        the main thread holds the metrics lock (``_locked``, which raises it on release) or the
        logger is starting or ending (``__enter__``/``__exit__`` act on it). A signal arriving
        while the handler runs (a burst) finds the guard set and returns at once.
        """
        if self._in_handler:
            return
        self._in_handler = True
        try:
            self._set_exit_deadline()
            if self._phase in ("ending", "ended"):
                if self._late_signum is None:
                    self._late_signum = signum  # the end is being written: let it finish, then exit
                return
            if self._cancel_signum is None:
                self._cancel_reason = self._cancel_reason or f"{signal.Signals(signum).name} received"
                self._cancel_signum = signum
            if self._cancel_raised or self._phase != "running" or self._critical:
                return
            self._cancel_raised = True
            raise PipelineRunCancelled(self._cancel_signum, self._cancel_reason or "cancelled")
        finally:
            self._in_handler = False

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """``with self._lock``, during which a signal in the main thread does not raise: the
        pending cancellation is raised when the lock is released (never while it is held)."""
        main = threading.get_ident() == self._main_ident
        if main:
            self._critical += 1
        try:
            with self._lock:
                yield
        finally:
            if main:
                self._critical -= 1
                if not self._critical:
                    self._raise_pending_cancel()

    def _raise_pending_cancel(self) -> None:
        """At a safe point of the main thread (no logger lock held): raise a pending cancellation."""
        if (
            self._cancel_signum is not None
            and not self._cancel_raised
            and self._phase == "running"
            and threading.get_ident() == self._main_ident
        ):
            self._cancel_raised = True
            raise PipelineRunCancelled(self._cancel_signum, self._cancel_reason or "cancelled")
