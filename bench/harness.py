"""Shared by the benchmarks: run a measurement in a fresh Python process, keep the best.

A fresh process per run makes `ru_maxrss` that measurement's own peak memory.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
GiB = 1 << 30

#: Around every measured body: `what`, `src` and `out` come from the command line, the
#: body may add named timings to `phases`; the run reports its time and peak memory.
_PRELUDE = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
what, src, out = sys.argv[1:4]
phases = {{}}
t0 = time.perf_counter()
"""
_EPILOGUE = """
elapsed = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": elapsed, "rss": rss, **phases}))
"""


def measure(body: str, what: str, src: Path, out: Path, runs: int) -> dict[str, float]:
    """Run `body` `runs` times, each in a fresh Python; the fastest run's figures."""
    code = _PRELUDE.format(root=str(ROOT)) + body + _EPILOGUE
    best: dict[str, float] | None = None
    for _ in range(runs):
        proc = subprocess.run([sys.executable, "-c", code, what, str(src), str(out)],
                              check=True, capture_output=True, text=True)
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        if best is None or result["seconds"] < best["seconds"]:
            best = result
    assert best is not None
    return best
