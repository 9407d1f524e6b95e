"""Interleaved timing: every variant runs once per round, in a rotating order, so drift hits all alike."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Sample:
    """Timings of one variant, in seconds."""

    name: str
    values: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def p90(self) -> float:
        ordered = sorted(self.values)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]


def interleave(
    variants: dict[str, Callable[[], object]], *, rounds: int, warmup: int, inner: int = 1
) -> dict[str, Sample]:
    """Time each variant ``rounds`` times (``inner`` calls per timing, reported per call)."""
    names = list(variants)
    for _ in range(warmup):
        for name in names:
            variants[name]()
    samples = {name: Sample(name) for name in names}
    clock = time.perf_counter
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            fn = variants[name]
            start = clock()
            for _ in range(inner):
                fn()
            samples[name].values.append((clock() - start) / inner)
    return samples


#: the rounds of an interleaved run are cut into this many consecutive blocks to measure the spread
SPREAD_BLOCKS = 5


def block_ratios(sample: Sample, baseline: Sample, *, blocks: int = SPREAD_BLOCKS) -> list[float]:
    """The ratio of medians ``sample / baseline`` in each block of consecutive rounds: how much a
    ratio moves within one run (drift, the server's JIT and GC), the spread a verdict is read with."""
    rounds = min(len(sample.values), len(baseline.values))
    size = max(1, rounds // blocks)
    ratios = []
    for start in range(0, rounds - size + 1, size):
        ours = statistics.median(sample.values[start : start + size])
        base = statistics.median(baseline.values[start : start + size])
        ratios.append(ours / base)
    return ratios
