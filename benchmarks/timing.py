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
