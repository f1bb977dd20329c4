"""Shared by the benchmarks: run a measurement in a fresh Python process, keep the best.

A fresh process per run makes `ru_maxrss` that measurement's own peak memory.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def measure(child: str, args: list[str], runs: int) -> dict[str, float]:
    """Run `child` (source formatted with {root}) `runs` times; the fastest run's JSON line."""
    best: dict[str, float] | None = None
    for _ in range(runs):
        proc = subprocess.run([sys.executable, "-c", child.format(root=str(ROOT)), *args],
                              check=True, capture_output=True, text=True)
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        if best is None or result["seconds"] < best["seconds"]:
            best = result
    assert best is not None
    return best
