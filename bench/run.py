"""Run every benchmark in turn (make bench): import, audit, reports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    worst = 0
    for script in ("bench_import.py", "bench_audit.py", "bench_report.py"):
        print(f"== {script}", flush=True)
        worst = max(worst, subprocess.call([sys.executable, str(HERE / script)]))
    return worst


if __name__ == "__main__":
    sys.exit(main())
