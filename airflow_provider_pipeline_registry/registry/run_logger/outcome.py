"""What the end of a run records from the way the job left the logger's ``with``: the status
(SUCCESS, FAILED, CANCELLED), the error type (a class name on one line) and the message."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..text_limits import truncate_text
from .cancellation import PipelineRunCancelled

if TYPE_CHECKING:
    from ..run_logs import RunStatus

#: ``error_type`` is a class name on one line, at most 255 (the run item's field limit)
_MAX_ERROR_TYPE = 255


def _exception_message(exc: BaseException) -> str:
    """``str(exc)``, or a stand-in when ``str()`` itself fails: a ``Py4JJavaError`` asks the JVM for
    its message, and a driver whose spark-submit JVM is gone gets ``ConnectionRefusedError`` there."""
    try:
        return str(exc)
    except Exception as failure:
        errmsg = getattr(exc, "errmsg", None)  # py4j keeps the Python side of the message here
        summary = errmsg.strip() if isinstance(errmsg, str) and errmsg.strip() else type(exc).__name__
        return f"{summary} (the full message is unavailable: {type(failure).__name__})"


def _exception_type(exc: BaseException) -> str:
    cls = type(exc)
    name = cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    return truncate_text(name, _MAX_ERROR_TYPE, one_line=True)


def run_outcome(exc: BaseException | None) -> tuple[RunStatus, str | None, str | None]:
    """Status, error type and message of a run the job left with ``exc`` (None: no exception)."""
    from ..run_logs import RunStatus

    if exc is None or (isinstance(exc, SystemExit) and exc.code in (None, 0)):
        return RunStatus.SUCCESS, None, None
    if isinstance(exc, PipelineRunCancelled):
        return RunStatus.CANCELLED, "Cancelled", exc.reason
    if isinstance(exc, KeyboardInterrupt):
        return RunStatus.CANCELLED, "KeyboardInterrupt", "interrupted"
    return RunStatus.FAILED, _exception_type(exc), truncate_text(_exception_message(exc))
