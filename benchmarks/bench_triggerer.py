"""The triggerer at scale: N deferred sensors polling in ONE asyncio event loop, as one triggerer
process runs them, against DynamoDB Local.

Variants, run one after the other on a fresh loop each (same runs, same server, same interval):

* **ours**: ``PipelineRunStateTrigger``, one trigger per RUNNING run: the triggers share one hook,
  and the polls due within 20 ms are read together with one strongly consistent, projected
  BatchGetItem (up to 100 keys) in a worker thread;
* **amazon**: the amazon provider's ``DynamoDBValueSensorTrigger`` (what ``DynamoDBValueSensor``
  defers to with ``deferrable=True``): aiobotocore, a new async client per poll, a GetItem of the
  whole item, waiting for ``status = SUCCESS`` on the same items.

aiobotocore is not a dependency of the project: its newest release pins an older botocore than
the lock's. ``run()`` therefore measures both variants in a child process started with
``uv run --with aiobotocore==... --with boto3==...`` (an overlay environment; the lock is not
touched), so both variants run on the same boto3/botocore there. Without uv, or if the overlay
cannot be installed, only ours is measured and the reason is reported.

What is measured, after a warm-up of one interval (trigger starts are spread over the first interval,
as sensors defer at different moments):

* lateness of a poll: when its request starts minus when it was due (end of the previous poll
  plus the interval);
* the event loop's longest block: a probe task sleeps 10 ms in a loop and records how late it wakes;
  the same with the process's garbage collections taken out, and the collections themselves (a
  ``gc.callbacks`` hook times each one): a full collection walks the whole heap (Airflow, botocore's
  service models, ~200,000 objects) and stops the loop whatever the triggers do;
* threads: the most threads alive at once (sampled by the probe);
* CPU per poll: the process's CPU time over the measured window divided by the polls in it
  (DynamoDB Local is another process, not counted).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

AIOBOTOCORE = "aiobotocore==3.10.0"
#: the boto3 release that goes with the botocore aiobotocore 3.10.0 accepts
BOTO3_FOR_AIOBOTOCORE = "boto3==1.43.117"
CONN_ID = "bench_triggerer_aws"
PIPELINE = "triggerer_bench"
LATENESS_TARGET_S = 1.0
BLOCK_TARGET_S = 0.100
PROBE_S = 0.010
HERE = Path(__file__).resolve().parent


@dataclass
class VariantResult:
    """What one variant did in the measured window."""

    name: str
    triggers: int
    interval: float
    polls: int = 0
    lateness_p50: float = 0.0
    lateness_p99: float = 0.0
    lateness_max: float = 0.0
    poll_p50: float = 0.0
    max_block: float = 0.0
    max_block_outside_gc: float = 0.0
    full_gcs: int = 0
    max_full_gc: float = 0.0
    heap_objects: int = 0
    max_threads: int = 0
    cpu_per_poll: float = 0.0
    errors: int = 0


@dataclass
class TriggererResult:
    """Every variant measured, the library versions, and why a variant could not run (if so)."""

    variants: list[VariantResult] = field(default_factory=list)
    versions: str = ""
    note: str = ""


class _Idle:
    """No trigger at all (the loop runs only the probe)."""


PROBE_ONLY = "nothing but the probe (machine floor)"


class _Recorder:
    """Start and end of every poll of every trigger (monotonic seconds)."""

    def __init__(self) -> None:
        self.polls: dict[int, list[tuple[float, float]]] = {}
        self.errors = 0

    def wrap_async(self, key: int, fn: Callable[..., Any]) -> Callable[..., Any]:
        polls = self.polls.setdefault(key, [])

        async def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.monotonic()
            try:
                return await fn(*args, **kwargs)
            except Exception:
                self.errors += 1
                raise
            finally:
                polls.append((start, time.monotonic()))

        return timed


class _GcPauses:
    """Every garbage collection of the process while installed: (generation, start, end), monotonic s."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float, float]] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.monotonic()
        else:
            self.pauses.append((info["generation"], self._started, time.monotonic()))

    def __enter__(self) -> _GcPauses:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)

    def overlap(self, start: float, end: float) -> float:
        """Seconds of [start, end] spent collecting."""
        return sum(max(0.0, min(end, e) - max(start, s)) for _, s, e in self.pauses)


async def _probe(
    stop: asyncio.Event, window_start: float, sleeps: list[tuple[float, float]], threads: list[int]
) -> None:
    """Sleep ``PROBE_S`` again and again, recording when each sleep began and when it woke."""
    while not stop.is_set():
        before = time.monotonic()
        await asyncio.sleep(PROBE_S)
        if before >= window_start:
            sleeps.append((before, time.monotonic()))
            threads.append(threading.active_count())


async def _measure(name: str, make: Callable[[int, _Recorder], Any], n: int, interval: float, window: float) -> Any:
    recorder = _Recorder()
    triggers = [make(i, recorder) for i in range(n)]

    async def staggered(i: int, trigger: Any) -> None:
        await asyncio.sleep(interval * i / n)
        async for _event in trigger.run():  # a run that never finishes: no event is expected
            recorder.errors += 1
            return

    started = time.monotonic()
    window_start = started + (interval * 2 if n else 0)  # the first polls build the hook/client: not measured
    window_end = window_start + window
    stop = asyncio.Event()
    sleeps: list[tuple[float, float]] = []
    threads: list[int] = []
    probe = asyncio.create_task(_probe(stop, window_start, sleeps, threads))
    tasks = [asyncio.create_task(staggered(i, t)) for i, t in enumerate(triggers)]
    await asyncio.sleep(window_start - time.monotonic())
    with _GcPauses() as collections:
        cpu_start = time.process_time()
        await asyncio.sleep(window_end - time.monotonic())
        cpu = time.process_time() - cpu_start
    stop.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await probe
    heap_objects = len(gc.get_objects())  # after the window: walking the heap blocks the loop too

    lateness: list[float] = []
    durations: list[float] = []
    polls_in_window = 0
    for i in range(n):
        polls = recorder.polls.get(i, [])
        due = started + interval * i / n  # the first poll is due when the trigger starts
        for k in range(len(polls) + 1):
            if due >= window_end:
                break
            if k == len(polls) or polls[k][0] >= window_end:
                lateness.append(window_end - due)  # still not started at the window's end: late by at least this
                break
            start, end = polls[k]
            if window_start <= due:
                lateness.append(max(0.0, start - due))
            if window_start <= start:
                polls_in_window += 1
                durations.append(end - start)
            due = end + interval
    ordered = sorted(lateness) or [float("nan")]
    blocks = [after - before - PROBE_S for before, after in sleeps]  # how late each sleep woke
    blocks_outside_gc = [block - collections.overlap(*sleep) for block, sleep in zip(blocks, sleeps, strict=True)]
    full = [end - start for generation, start, end in collections.pauses if generation == 2]
    return VariantResult(
        name=name,
        triggers=n,
        interval=interval,
        polls=polls_in_window,
        lateness_p50=statistics.median(ordered),
        lateness_p99=ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        lateness_max=ordered[-1],
        poll_p50=statistics.median(durations) if durations else float("nan"),
        max_block=max(blocks, default=float("nan")),
        max_block_outside_gc=max(blocks_outside_gc, default=float("nan")),
        full_gcs=len(full),
        max_full_gc=max(full, default=0.0),
        heap_objects=heap_objects,
        max_threads=max(threads, default=0),
        cpu_per_poll=cpu / polls_in_window if polls_in_window else float("nan"),
        errors=recorder.errors,
    )


def _connection(endpoint: str, prefix: str) -> str:
    extra = {"endpoint_url": endpoint, "region_name": "us-east-1", "table_prefix": prefix}
    return json.dumps({"conn_type": "aws", "login": "testing", "password": "testing", "extra": extra})


def _child(endpoint: str, *, quick: bool, amazon: bool) -> TriggererResult:
    """Runs in the (overlay) child process: set up the runs, measure every variant, return the result."""
    import boto3
    import botocore

    from airflow_provider_pipeline_registry.hooks.pipeline_registry import PipelineRegistryHook
    from airflow_provider_pipeline_registry.registry.timezones import utc_now
    from airflow_provider_pipeline_registry.triggers.pipeline_registry import PipelineRunStateTrigger

    n, interval, window = (50, 1.0, 2.0) if quick else (500, 5.0, 30.0)
    prefix = "trig_"
    os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = _connection(endpoint, prefix)
    hook = PipelineRegistryHook(aws_conn_id=CONN_ID)
    hook.create_tables()
    runs_write = hook.registry.runs_write
    for i in range(n):
        runs_write.start({"run_id": f"run-{i:04d}", "pipeline_id": PIPELINE})
    hook_kwargs = hook.trigger_kwargs()
    table = hook.registry_config.table_name("pipeline_run_logs")
    end_at = utc_now() + timedelta(hours=1)

    def ours(i: int, recorder: _Recorder) -> Any:
        trigger = PipelineRunStateTrigger(
            pipeline_id=PIPELINE, run_id=f"run-{i:04d}", end_at=end_at, poke_interval=interval, hook_kwargs=hook_kwargs
        )
        trigger._poll = recorder.wrap_async(i, trigger._poll)  # type: ignore[method-assign]
        return trigger

    makers: dict[str, Callable[[int, _Recorder], Any]] = {"ours (PipelineRunStateTrigger)": ours}
    idle: dict[str, Callable[[int, _Recorder], Any]] = {PROBE_ONLY: lambda i, recorder: _Idle()}
    versions = f"boto3 {boto3.__version__}, botocore {botocore.__version__}"
    note = ""
    if amazon:
        try:
            import aiobotocore
            from airflow.providers.amazon.aws.triggers.dynamodb import DynamoDBValueSensorTrigger
        except ImportError as exc:
            note = f"amazon variant not run: {exc}"
        else:
            versions += f", aiobotocore {aiobotocore.__version__}"

            def amazon_trigger(i: int, recorder: _Recorder) -> Any:
                trigger = DynamoDBValueSensorTrigger(
                    table_name=table,
                    partition_key_name="run_id",
                    partition_key_value=f"run-{i:04d}",
                    sort_key_name="pipeline_id",
                    sort_key_value=PIPELINE,
                    attribute_name="status",
                    attribute_value="SUCCESS",
                    waiter_delay=int(interval),
                    aws_conn_id=CONN_ID,
                )
                trigger.poke = recorder.wrap_async(i, trigger.poke)  # type: ignore[method-assign]
                return trigger

            makers["amazon (DynamoDBValueSensorTrigger)"] = amazon_trigger
    result = TriggererResult(versions=versions, note=note)
    # the probe alone first: how late a 10 ms sleep wakes on this machine with nothing else in the loop
    for name, make in {**idle, **makers}.items():
        result.variants.append(asyncio.run(_measure(name, make, 0 if name == PROBE_ONLY else n, interval, window)))
    for name in hook.registry_config.describe()["tables"].values():
        hook.conn.delete_table(TableName=name)
    return result


def run(config: Any, *, quick: bool) -> TriggererResult:
    """Measure in a child process with aiobotocore overlaid (or ours only, in process, without uv)."""
    env = {
        **os.environ,
        "AIRFLOW_HOME": tempfile.mkdtemp(prefix="bench_triggerer_"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
    }
    uv = shutil.which("uv")
    args = [str(HERE / "bench_triggerer.py"), "--endpoint", config.endpoint_url, *(["--quick"] if quick else [])]
    reason = "uv is not on PATH"
    if quick:  # the smoke run skips the aiobotocore overlay (resolving it alone takes seconds)
        uv, reason = None, "--quick measures ours only"
    if uv:
        overlay = [uv, "run", "--frozen", "--quiet", "--with", AIOBOTOCORE, "--with", BOTO3_FOR_AIOBOTOCORE]
        done = subprocess.run([*overlay, "python", *args], env=env, capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return _from_json(done.stdout.strip().splitlines()[-1])
        reason = f"the aiobotocore overlay failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}"
    done = subprocess.run([sys.executable, *args, "--ours-only"], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench_triggerer child failed:\n{done.stderr[-3000:]}")
    result = _from_json(done.stdout.strip().splitlines()[-1])
    result.note = f"amazon variant not run ({reason})"
    return result


def _from_json(text: str) -> TriggererResult:
    data = json.loads(text)
    return TriggererResult(
        variants=[VariantResult(**v) for v in data["variants"]], versions=data["versions"], note=data["note"]
    )


def report(result: TriggererResult) -> Any:
    """The section's rich table: lateness, loop block (with and without GC), threads, CPU per poll."""
    from rich.table import Table

    first = next(v for v in result.variants if v.triggers)
    table = Table(
        title=f"The triggerer: {first.triggers} triggers polling every {first.interval:g} s in one event loop "
        f"({result.versions})" + (f"; {result.note}" if result.note else "")
    )
    columns = ("trigger", "polls", "lateness p50 / p99 / max s", "poll p50 ms", "max loop block ms")
    more = ("outside GC ms", "full GCs (longest ms)", "heap objects", "threads", "CPU ms per poll", "errors", "target")
    for column in (*columns, *more):
        table.add_column(column, justify="left" if column in ("trigger", "target") else "right")
    for v in result.variants:
        verdict = ""
        if v.name.startswith("ours"):
            ok = v.lateness_p99 < LATENESS_TARGET_S and v.max_block_outside_gc <= BLOCK_TARGET_S and v.errors == 0
            verdict = ("met" if ok else "MISSED") + f" (p99 < {LATENESS_TARGET_S:g} s, block outside GC <= 100 ms)"
            if v.max_block > BLOCK_TARGET_S:
                verdict += f"; with the process's GC: {v.max_block * 1e3:.0f} ms"
        table.add_row(
            v.name,
            f"{v.polls:,}",
            f"{v.lateness_p50:.3f} / {v.lateness_p99:.3f} / {v.lateness_max:.3f}" if v.triggers else "",
            f"{v.poll_p50 * 1e3:.1f}" if v.triggers else "",
            f"{v.max_block * 1e3:.0f}",
            f"{v.max_block_outside_gc * 1e3:.0f}",
            f"{v.full_gcs} ({v.max_full_gc * 1e3:.0f})" if v.full_gcs else "0",
            f"{v.heap_objects:,}",
            str(v.max_threads),
            f"{v.cpu_per_poll * 1e3:.2f}" if v.triggers else "",
            str(v.errors),
            verdict,
        )
    return table


def main() -> None:
    """Child entry point: print the result as one JSON line."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--ours-only", action="store_true")
    args = parser.parse_args()
    result = _child(args.endpoint, quick=args.quick, amazon=not args.ours_only)
    print(json.dumps(asdict(result)))


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
