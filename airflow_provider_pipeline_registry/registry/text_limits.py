"""The one limit and the one truncation of error text, for the whole package.

An error kept on a run (the run's ``error_message``, each previous attempt's, the callbacks' and
the run logger's) is cut by :func:`truncate_text` to :data:`MAX_ERROR_BYTES` bytes of UTF-8. The
cut keeps the head *and* the tail: the head says where it started, the last lines of a traceback
(Python's or a JVM's ``Caused by``) name the exception, and both survive. The middle is replaced
by a marker saying how many bytes were left out::

    Traceback (most recent call last):
      File "job.py", line 3, in <module>
    ...
    ... [27310 bytes omitted] ...
    ...
    pyspark.errors.exceptions.captured.AnalysisException: [TABLE_OR_VIEW_NOT_FOUND] ...

Why 8 KiB: a run item holds its error and the errors of up to ``MAX_ATTEMPT_HISTORY`` (10) previous
attempts, each within this limit: 11 x 8 KiB = 88 KiB, far below DynamoDB's 400 KB item limit,
with room for the run's other attributes (metrics, Spark identity, staged watermarks), whose total
the gateway checks before writing.

A display that must stay on one line (a table cell) uses the same function with its own,
smaller limit and ``one_line=True`` (whitespace runs collapsed, a one-line marker).
"""

from __future__ import annotations

import re

#: the longest error text kept, in bytes of UTF-8 (marker included)
MAX_ERROR_BYTES = 8 * 1024
#: the longest error text kept for a *previous* attempt in a run's history (head and tail, like
#: the run's own): the history rides on the run item, and every later write of the item (each
#: heartbeat, times the two indexes projecting it) is billed per KB of the whole item (issue #26)
MAX_HISTORY_ERROR_BYTES = 512

#: the marker that replaces the omitted middle (``{n}``: the number of bytes left out)
MARKER = "\n... [{n} bytes omitted] ...\n"
_ONE_LINE_MARKER = " ... [{n} bytes omitted] ... "
_WHITESPACE = re.compile(r"\s+")
#: a cut moves to a line boundary when one lies within this fraction of the kept part
_LINE_SNAP = 0.25


def _head(data: bytes, size: int) -> bytes:
    """The first ``size`` bytes or fewer, ending on a whole character (on a line end when one is near)."""
    cut = data[:size]
    newline = cut.rfind(b"\n")
    if newline >= 0 and newline >= size - int(size * _LINE_SNAP):
        cut = cut[: newline + 1]
    return cut.decode("utf-8", "ignore").encode("utf-8")


def _tail(data: bytes, size: int) -> bytes:
    """The last ``size`` bytes or fewer, starting on a whole character (on a line start when one is near)."""
    if size <= 0:
        return b""
    cut = data[-size:]
    newline = cut.find(b"\n")
    if 0 <= newline < int(size * _LINE_SNAP):
        cut = cut[newline + 1 :]
    return cut.decode("utf-8", "ignore").encode("utf-8")


def truncate_text(text: str, limit: int = MAX_ERROR_BYTES, *, one_line: bool = False) -> str:
    """``text`` within ``limit`` bytes of UTF-8: unchanged when it fits, else its head and its tail
    around a marker naming the number of bytes omitted (never cut inside a character).

    ``one_line=True`` first collapses every whitespace run (newlines included) to one space and
    uses a marker without line breaks, for a summary shown on one line.
    """
    if limit < 64:
        raise ValueError(f"truncate_text: limit must be at least 64 bytes, got {limit}")
    if one_line:
        text = _WHITESPACE.sub(" ", text).strip()
    data = text.encode("utf-8", "replace")  # a lone surrogate counts as (and, if cut, becomes) "?"
    if len(data) <= limit:
        return text
    marker = _ONE_LINE_MARKER if one_line else MARKER
    room = limit - len(marker.format(n=len(data)).encode("utf-8"))  # the widest marker this text can need
    head = _head(data, room // 2)
    tail = _tail(data, room - len(head))
    omitted = len(data) - len(head) - len(tail)
    return head.decode("utf-8") + marker.format(n=omitted) + tail.decode("utf-8")
