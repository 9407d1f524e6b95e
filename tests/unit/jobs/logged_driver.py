"""A Python "driver" recording its run with PipelineRunLogger.from_env(), for subprocess tests.

Usage: ``python logged_driver.py MODE`` with the run logger's variables in the environment.

* ``loop``: print READY, then call ``run.increment()`` in a tight loop until a signal ends it;
* ``raise``: count 10 rows, then raise ValueError;
* ``ok``: count to 1000 with ``run.increment()``, print the stored identity, succeed;
* ``sleep``: print READY, sleep until a signal ends it (60 s at most, then fail).

``SLOW_END_SECONDS``: every write carrying an ``end_time`` (the end write) prints END-WRITE and
is held that long before it is sent, by a botocore ``before-send`` event hook (a slow network),
so a test can send a second signal while the end is being written.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from airflow_provider_pipeline_registry.registry import PipelineRunLogger


def _slow_end_writes(run: PipelineRunLogger, seconds: float) -> None:
    def hold(request: Any, **_: Any) -> None:
        if b"end_time" in (request.body or b""):
            print("END-WRITE", flush=True)
            time.sleep(seconds)

    run.registry.client.meta.events.register("before-send.dynamodb.UpdateItem", hold, unique_id="slow-end")


def main(mode: str) -> int:
    run = PipelineRunLogger.from_env()
    slow = float(os.environ.get("SLOW_END_SECONDS", "0"))
    if slow:
        _slow_end_writes(run, slow)
    with run:
        if mode == "loop":
            print("READY", flush=True)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                run.increment("rows")
            return 3
        if mode == "raise":
            run.increment("rows", 10)
            raise ValueError("bad input row 42")
        if mode == "sleep":
            print("READY", flush=True)
            time.sleep(60)
            return 3
        for _ in range(1000):
            run.increment("rows")
        print(json.dumps({"attempt_id": run.attempt_id, "try_number": run.try_number}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
