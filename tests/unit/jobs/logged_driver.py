"""A Python "driver" recording its run with PipelineRunLogger.from_env(), for subprocess tests.

Usage: ``python logged_driver.py MODE`` with the run logger's variables in the environment.

* ``loop``: print READY, then call ``run.increment()`` in a tight loop until a signal ends it;
* ``raise``: count 10 rows, then raise ValueError;
* ``ok``: count to 1000 with ``run.increment()``, print the stored identity, succeed;
* ``sleep``: print READY, sleep until a signal ends it (60 s at most, then fail);
* ``flush``: print READY, then ``run.flush()`` (a DynamoDB write made by the main thread) every
  20 ms until a signal ends it (60 s at most).

A mode may end in ``+throttle``: once the file named by ``THROTTLE_FILE`` exists, every request
is answered ``ThrottlingException`` (HTTP 400) by a botocore ``before-send`` event hook, as a
throttled table would.

``SLOW_END_SECONDS``: every write of an end status (the end write) prints END-WRITE and
is held that long before it is sent, by a botocore ``before-send`` event hook (a slow network),
so a test can send a second signal while the end is being written.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable
from typing import Any

from airflow_provider_pipeline_registry.registry import PipelineRunLogger

_END_STATUS = re.compile(rb'"S":\s*"(SUCCESS|FAILED|CANCELLED)"')


def _say(line: str) -> None:
    print(line, flush=True)


def _slow_end_writes(run: PipelineRunLogger, seconds: float, emit: Callable[[str], None]) -> None:
    def hold(request: Any, **_: Any) -> None:
        body = request.body or b""
        if _END_STATUS.search(body):
            emit("END-WRITE")
            time.sleep(seconds)

    run.registry.client.meta.events.register("before-send.dynamodb.UpdateItem", hold, unique_id="slow-end")


def _throttle_once_file_exists(run: PipelineRunLogger, path: str) -> None:
    from botocore.awsrequest import AWSResponse

    class Body:
        def __init__(self, payload: bytes) -> None:
            self.payload = payload

        def stream(self, **_: Any) -> Any:
            yield self.payload

    def throttle(request: Any, **_: Any) -> AWSResponse | None:
        if not os.path.exists(path):
            return None
        body = json.dumps(
            {
                "__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException",
                "message": "Rate of requests exceeds the allowed throughput.",
            }
        ).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0", "Content-Length": str(len(body))}
        return AWSResponse(request.url, 400, headers, Body(body))

    run.registry.client.meta.events.register("before-send.dynamodb.*", throttle, unique_id="throttle")


def main(mode: str, emit: Callable[[str], None] = _say) -> int:
    run = PipelineRunLogger.from_env()
    mode, _, fault = mode.partition("+")
    slow = float(os.environ.get("SLOW_END_SECONDS", "0"))
    if slow:
        _slow_end_writes(run, slow, emit)
    if fault == "throttle":
        _throttle_once_file_exists(run, os.environ["THROTTLE_FILE"])
    with run:
        if mode == "loop":
            emit("READY")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                run.increment("rows")
            return 3
        if mode == "raise":
            run.increment("rows", 10)
            raise ValueError("bad input row 42")
        if mode == "flush":
            emit("READY")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                run.flush()
                time.sleep(0.02)
            return 3
        if mode == "sleep":
            emit("READY")
            time.sleep(60)
            return 3
        for _ in range(1000):
            run.increment("rows")
        print(json.dumps({"attempt_id": run.attempt_id, "try_number": run.try_number}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
