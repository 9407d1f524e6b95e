"""Benchmarks of the registry against raw boto3 and PynamoDB, on a DynamoDB Local started here.

    uv run python benchmarks/run.py            # full run (about 5 minutes on 2 cores)
    uv run python benchmarks/run.py --quick    # smoke run (well under a minute)

Every figure is a median over repeated, interleaved runs; ratios compare with a baseline measured
in the same run. See benchmarks/README.md for what is measured and how.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import sys
import time
from pathlib import Path

# dummy credentials: nothing here may ever reach a real AWS account
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
for _var in ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
    os.environ.pop(_var, None)
sys.path.insert(0, str(Path(__file__).resolve().parent))
# the DynamoDB Local launcher (tests/dynamodb_local.py): test and demo tooling, not in the wheel
sys.path.append(str(Path(__file__).resolve().parents[1] / "tests"))

from dynamodb_local import DynamoDBLocal  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from timing import SPREAD_BLOCKS, block_ratios  # noqa: E402

from airflow_provider_pipeline_registry.registry import DynamoDBConfig, Registry  # noqa: E402

SECTIONS = (
    "ops",
    "serialization",
    "batch",
    "config_batch",
    "config_cli",
    "dag",
    "dag_generated",
    "history",
    "triggerer",
    "cli",
    "watermarks",
    "capacity",
    "latency",
)
#: issue #15: single-item get/put/conditional update and a 100-item query page within 1.10x of raw boto3
OPS_TARGET = 1.10
#: issue #15: a run log's round trip (model -> item -> model) at most 1.0x boto3's TypeSerializer+TypeDeserializer
SERIALIZATION_TARGET = 1.0
#: issue #15: DAG parse adds at most this much over airflow.sdk alone
DAG_TARGET_MS = 50


def _ratio(value: float, baseline: float) -> str:
    return f"{value / baseline:.2f}x"


def _ops_verdict(samples: dict, target: float, *, beat_pynamodb: bool) -> str:  # type: ignore[type-arg]
    """``met`` within ``target`` of raw boto3 (and faster than PynamoDB where the target says so);
    ``within noise`` when it misses by less than half the spread of its block ratios (the miss is
    smaller than how much the ratio moves within the run)."""
    ours, raw, pyn = samples["ours"], samples["raw boto3"], samples["PynamoDB"]
    ratio = ours.median / raw.median
    goal = f"<={target}x raw" + (", <PynamoDB" if beat_pynamodb else "")
    if ratio <= target and (not beat_pynamodb or ours.median < pyn.median):
        return f"met ({goal})"
    ratios = block_ratios(ours, raw)
    if ratio - target <= (max(ratios) - min(ratios)) / 2 and (not beat_pynamodb or ours.median < pyn.median):
        return f"within noise ({goal})"
    return f"MISSED ({goal})"


def _ops_table(results: list, *, target: float = OPS_TARGET, beat_pynamodb: bool = True) -> Table:  # type: ignore[type-arg]
    from bench_ops import SAME_REQUEST

    table = Table(title="Single-item operations and two 100-item query pages (median latency per call)")
    columns = ("operation", "variant", "median ms", "p90 ms", "vs raw boto3", f"spread ({SPREAD_BLOCKS} blocks)")
    for column in (*columns, "vs PynamoDB", "target"):
        table.add_column(column, justify="left" if column in ("operation", "variant", "target") else "right")
    notes = []
    for operation, samples in results:
        raw, pyn = samples["raw boto3"], samples["PynamoDB"]
        for n, (variant, sample) in enumerate(samples.items()):
            spread = ""
            if variant != "raw boto3":
                ratios = block_ratios(sample, raw)
                spread = f"{min(ratios):.2f}-{max(ratios):.2f}x"
            table.add_row(
                operation if n == 0 else "",
                variant,
                f"{sample.median * 1e3:.3f}",
                f"{sample.p90 * 1e3:.3f}",
                _ratio(sample.median, raw.median),
                spread,
                _ratio(sample.median, pyn.median),
                _ops_verdict(samples, target, beat_pynamodb=beat_pynamodb) if variant == "ours" else "",
            )
        if SAME_REQUEST in samples:
            same = samples[SAME_REQUEST]
            notes.append(
                f"{operation}: ours is {_ratio(samples['ours'].median, same.median)} its own request sent by hand, "
                f"which is {_ratio(same.median, raw.median)} raw boto3's"
            )
        table.add_section()
    table.caption = "; ".join(notes)
    return table


def _serialization_table(results: list) -> Table:  # type: ignore[type-arg]
    table = Table(title="Serialization, no network (median microseconds per item)")
    columns = (
        "item",
        "variant",
        "to item µs",
        "from item µs",
        "round trip µs",
        "vs TypeSerializer",
        "vs PynamoDB",
        "target",
    )
    for column in columns:
        table.add_column(column, justify="left" if column in ("item", "variant", "target") else "right")
    for kind, samples in results:
        trips = {n: to.median + back.median for n, (to, back) in samples.items()}
        for variant in ("boto3 TypeSerializer", "ours", "PynamoDB"):
            to, back = samples[variant]
            verdict = ""
            if variant == "ours":
                ok = trips[variant] <= SERIALIZATION_TARGET * trips["boto3 TypeSerializer"]
                verdict = ("met" if ok else "MISSED") + f" (<={SERIALIZATION_TARGET}x)"
            table.add_row(
                kind if variant == "boto3 TypeSerializer" else "",
                variant,
                f"{to.median * 1e6:.1f}",
                f"{back.median * 1e6:.1f}",
                f"{trips[variant] * 1e6:.1f}",
                _ratio(trips[variant], trips["boto3 TypeSerializer"]),
                _ratio(trips[variant], trips["PynamoDB"]),
                verdict,
            )
        table.add_section()
    return table


BATCH_TARGET = 2.0
BATCH_FAULTS_TARGET = 1.5


def _batch_table(result) -> Table:  # type: ignore[no-untyped-def]
    from bench_batch import OLD, OURS, OURS_FAULTS, RAW_TRANSACT, WRITE_ONLY, WRITER, WRITER_FAULTS

    runs = len(result.seconds[OURS])
    title = (
        f"Batch upsert of {result.items:,} run logs, ours at batch_concurrency={result.concurrency} "
        f"(median of {runs} run(s); under faults {len(result.seconds.get(OURS_FAULTS, []))})"
    )
    table = Table(title=title)
    columns = ("variant", "concurrency", "median s", "items/s", "x batch_writer's items/s", "items lost", "target")
    for column in columns:
        table.add_column(column, justify="left" if column in ("variant", "target") else "right")
    rows = (
        (WRITER, WRITER, ""),
        (OURS, WRITER, f">={BATCH_TARGET}x batch_writer, 0 lost"),
        (OLD, WRITER, ""),
        (WRITE_ONLY, WRITER, ""),
        (RAW_TRANSACT, WRITER, ""),
        (WRITER_FAULTS, WRITER_FAULTS, ""),
        (OURS_FAULTS, WRITER_FAULTS, f">={BATCH_FAULTS_TARGET}x batch_writer under the same faults, 0 lost"),
    )
    for variant, baseline, target in rows:
        if variant not in result.seconds:  # the latency section runs the clean variants only
            continue
        median = statistics.median(result.seconds[variant])
        speedup = statistics.median(result.seconds[baseline]) / median
        verdict = ""
        if target:
            goal = BATCH_TARGET if variant == OURS else BATCH_FAULTS_TARGET
            ok = speedup >= goal and result.all_present(variant)
            verdict = ("met" if ok else "MISSED") + f" ({target})"
        faults = ""
        if variant in result.faults:
            faults = f" ({result.faults[variant]} throttled, {result.faults[variant + ' unprocessed']} unprocessed)"
        table.add_row(
            variant + faults,
            str(result.concurrency) if variant.startswith(("ours", "raw")) else "1 (sequential)",
            f"{median:.2f}",
            f"{result.items / median:,.0f}",
            f"{speedup:.2f}x",
            str(result.missing[variant]),
            verdict,
        )
        if variant == RAW_TRANSACT:
            table.add_section()
    old_ratio = statistics.median(result.seconds[OLD]) / statistics.median(result.seconds[OURS])
    table.caption = f"ours (conditional transactions) vs the old path in this run: {old_ratio:.2f}x its items/s"
    return table


def _dag_table(result) -> Table:  # type: ignore[no-untyped-def]
    table = Table(title="DAG parse: import of a DAG file in a fresh interpreter (median)")
    columns = ("DAG file imports", "median s", "difference of medians", "our modules alone", "boto3/botocore/pyspark")
    columns += ("target",)
    for column in columns:
        table.add_column(column, justify="right" if column == "median s" else "left")
    if result.missing:
        table.add_row("with provider", "missing", result.missing, "", "", "")
        return table
    base = result.median("airflow only")
    for name in ("airflow only", "with provider"):
        median = result.median(name)
        heavy = result.heavy_imported.get(name, [])
        provider = name == "with provider"
        table.add_row(
            name,
            f"{median:.3f}",
            f"{(median - base) * 1e3:+.0f} ms ({median / base:.2f}x)" if provider else "",
            f"{statistics.median(result.ours_seconds) * 1e3:.0f} ms (median)" if provider else "",
            ", ".join(heavy) + " imported (NOT OK)" if heavy else "none imported (ok)",
            _dag_verdict(statistics.median(result.ours_seconds), heavy) if provider else "",
        )
    return table


def _dag_verdict(ours_seconds: float, heavy: list[str]) -> str:
    """On the import of our modules after airflow.sdk, timed inside one process: what the provider
    adds to a parse. The difference of two processes' medians (about 3 s each) is shown beside it,
    but its noise between fresh interpreters is larger than the target."""
    ok = ours_seconds * 1e3 <= DAG_TARGET_MS and not heavy
    return ("met" if ok else "MISSED") + f" (<=+{DAG_TARGET_MS} ms, no boto3/botocore/pyspark)"


#: issue #26: the round trips the latency section adds in front of DynamoDB Local (ms)
LATENCY_RTT_MS = (2.0, 10.0)
#: issue #26: under 10 ms RTT, single ops at most this times raw boto3 (batch: BATCH_TARGET, 0 lost)
LATENCY_OPS_TARGET = 1.05
#: the latency section's single-op rounds, as a fraction of the ops section's (each call waits the RTT)
LATENCY_OPS_SCALE = 0.2


def _latency(console: Console, config: DynamoDBConfig, *, quick: bool, rtts: list[float]) -> None:
    """The ops, batch and triggerer sections again, each through a DelayProxy adding ``rtt`` ms."""
    import bench_batch
    import bench_ops
    import bench_triggerer
    from delay_proxy import DelayProxy
    from pynamodb_models import make_models

    for rtt in rtts:
        with DelayProxy(config.endpoint_url or "", rtt_ms=rtt) as proxy:
            # tables of its own: the ops section's items (e.g. the update's) exist already in a full run
            prefix = f"lat{rtt:g}_".replace(".", "_")
            proxied = config.model_copy(update={"endpoint_url": proxy.url, "table_prefix": prefix})
            registry = Registry(proxied)
            registry.create_tables()
            models = make_models(
                host=proxy.url,
                region=proxied.region,
                run_logs_table=proxied.table_name("pipeline_run_logs"),
                table_config_table=proxied.table_name("table_config"),
            )
            console.print(f"[bold]Through a delay proxy adding {rtt:g} ms per round trip ({proxy.url})[/bold]")
            # issue #26's target under 10 ms is against raw boto3 alone; below it, issue #15's stands
            results = bench_ops.run(registry, models, quick=quick, scale=LATENCY_OPS_SCALE)  # type: ignore[arg-type]
            if rtt >= 10:
                table = _ops_table(results, target=LATENCY_OPS_TARGET, beat_pynamodb=False)
            else:
                table = _ops_table(results)
            table.title = f"{table.title} -- {rtt:g} ms RTT"
            console.print(table)
            # 3 runs at the target's round trip (10 ms), 1 at the others: the full run stays under ~20 minutes
            repeats = None if quick else (3 if rtt >= 10 else 1)
            batch = _batch_table(bench_batch.run(registry, quick=quick, faults=False, repeats=repeats))
            batch.title = f"{batch.title} -- {rtt:g} ms RTT"
            console.print(batch)
            trig = bench_triggerer.report(bench_triggerer.run(proxied, quick=quick))
            trig.title = f"{trig.title} -- {rtt:g} ms RTT"
            console.print(trig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="few repetitions, 1,000-item batch: a smoke run")
    parser.add_argument("--only", choices=SECTIONS, action="append", help="run only these sections (repeatable)")
    parser.add_argument(
        "--batch-concurrency", type=int, default=None, help="batch section: ours at this batch_concurrency"
    )
    parser.add_argument(
        "--rtt-ms",
        type=float,
        action="append",
        help="latency section: round trips to add (repeatable; default 2 and 10)",
    )
    args = parser.parse_args(argv)
    sections = args.only or list(SECTIONS)
    console = Console(width=max(150, Console().width))
    import boto3
    import pydantic
    import pynamodb

    console.print(
        f"Python {platform.python_version()} on {platform.machine()} ({os.cpu_count()} CPUs), "
        f"boto3 {boto3.__version__}, pydantic {pydantic.__version__}, PynamoDB {pynamodb.__version__}"
        f"{', QUICK mode' if args.quick else ''}; load average {os.getloadavg()[0]:.1f}"
    )
    started = time.perf_counter()
    needs_dynamodb = {
        "ops",
        "serialization",
        "batch",
        "config_batch",
        "config_cli",
        "history",
        "triggerer",
        "watermarks",
        "capacity",
        "latency",
    } & set(sections)
    # started once it answers (no fixed wait), given up after 5 minutes: at load 32 it took over 60 s
    with DynamoDBLocal(startup_timeout=300) if needs_dynamodb else contextlib.nullcontext() as ddb:
        registry = models = None
        if ddb is not None:
            config = DynamoDBConfig(endpoint_url=ddb.url, region="us-east-1", table_prefix="bench_")
            registry = Registry(config)
            registry.create_tables()
            from pynamodb_models import make_models

            models = make_models(
                host=ddb.url,
                region=config.region,
                run_logs_table=config.table_name("pipeline_run_logs"),
                table_config_table=config.table_name("table_config"),
            )
            console.print(f"DynamoDB Local at {ddb.url}")
        if "ops" in sections:
            import bench_ops

            console.print(_ops_table(bench_ops.run(registry, models, quick=args.quick)))  # type: ignore[arg-type]
        if "serialization" in sections:
            import bench_serialization

            console.print(_serialization_table(bench_serialization.run(models, quick=args.quick)))  # type: ignore[arg-type]
        if "batch" in sections:
            import bench_batch

            console.print(_batch_table(bench_batch.run(registry, quick=args.quick, concurrency=args.batch_concurrency)))  # type: ignore[arg-type]
        if "config_batch" in sections:
            import bench_config_batch

            console.print(bench_config_batch.report(bench_config_batch.run(registry, quick=args.quick)))  # type: ignore[arg-type]
        if "config_cli" in sections:
            import bench_config_cli

            console.print(bench_config_cli.report(bench_config_cli.run(registry, quick=args.quick)))  # type: ignore[arg-type]
        if "history" in sections:
            import bench_history

            history = bench_history.run(config, quick=args.quick)
            console.print(bench_history.report(history))
            if history.ui is not None:
                import bench_ui_scale

                console.print(bench_ui_scale.report(history.ui))
        if "watermarks" in sections:
            import bench_watermarks

            console.print(bench_watermarks.report(bench_watermarks.run(config, quick=args.quick)))
        if "capacity" in sections:
            import bench_capacity

            console.print(bench_capacity.report(bench_capacity.run(config, quick=args.quick)))
        if "triggerer" in sections:
            import bench_triggerer

            console.print(bench_triggerer.report(bench_triggerer.run(config, quick=args.quick)))
        if "latency" in sections:
            _latency(console, config, quick=args.quick, rtts=args.rtt_ms or list(LATENCY_RTT_MS))
    if "dag" in sections:
        import bench_dag_parse

        console.print(_dag_table(bench_dag_parse.run(quick=args.quick)))
    if "dag_generated" in sections:
        import bench_dag_parse

        console.print(bench_dag_parse.report_generated(bench_dag_parse.run_generated(quick=args.quick)))
    if "cli" in sections:
        import bench_cli_start

        console.print(bench_cli_start.report(bench_cli_start.run(quick=args.quick)))
    console.print(f"total {time.perf_counter() - started:.0f} s; load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
