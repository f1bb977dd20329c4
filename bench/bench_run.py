"""Benchmark: the scheduled `run` job on the synthetic 64-host / 5,000-VM pool: its readiness
audit, the HTML and PDF reports, the diff with the last run, and the e-mail (PDF attached)
delivered to an aiosmtpd server on 127.0.0.1, then the state replaced.

Two runs, each in a fresh subprocess (so `ru_maxrss` is its own peak): the first, with no
state to compare with, and the next, which compares with the first one's results, as every
nightly run after the first does. Time per phase comes from the run's progress lines.

    .venv/bin/python bench/bench_run.py [--vms 5000] [--no-pdf]
"""

from __future__ import annotations

import argparse
import shutil
import socket
import sys
from pathlib import Path
from typing import Any

import harness

HERE = Path(__file__).resolve().parent
OUT = harness.OUT
MiB = 1 << 20

_BODY = """
from checker.job import load_job, run_job
marks = []
outcome = run_job(load_job(src), progress=lambda m: marks.append((time.perf_counter() - t0, m)))
assert outcome.status == "complete" and outcome.mail.status == "sent", outcome.as_json()
at = lambda text: next(s for s, m in marks if text in m)
phases.update(pool=at("synth: inventory done"),
              check_and_reports=at("e-mail: sending") - at("synth: inventory done"),
              mail_and_state=time.perf_counter() - t0 - at("e-mail: sending"),
              compared=outcome.checks[0].previous_at is not None)
"""


class Smtp:
    """aiosmtpd on a free port of 127.0.0.1, keeping the size of each message it accepts."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.sizes: list[int] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.sizes.append(len(envelope.content))
        return "250 accepted"

    def __enter__(self) -> Smtp:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def write_job(folder: Path, inventory: Path, port: int, pdf: bool) -> Path:
    formats = "[html, pdf]" if pdf else "[html]"
    attach = "[pdf]" if pdf else "[]"
    job = folder / "job.yaml"
    job.write_text(f"""name: bench
output: out
state: state
keep: 2
pools:
  - name: synth
    inventory: {inventory}
report:
  formats: {formats}
email:
  host: 127.0.0.1
  port: {port}
  security: none
  from: migready@localhost
  to: [ops@localhost]
  attach: {attach}
""", encoding="utf-8")
    return job


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=64)
    ap.add_argument("--vms", type=int, default=5000)
    ap.add_argument("--no-pdf", action="store_true", help="HTML only (the audit's PDF is slow)")
    args = ap.parse_args()
    sys.path.insert(0, str(HERE))
    from bench_audit import inventory_for

    inventory = inventory_for(args.hosts, args.vms)
    folder = OUT / "run-job"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    formats = "HTML" if args.no_pdf else "HTML + PDF"
    print(f"run job, {args.vms} VMs, {formats}, e-mail to aiosmtpd on 127.0.0.1")
    print(f"{'run':>6} {'total s':>8} {'pool s':>7} {'check+reports s':>16} {'smtp+state s':>13} "
          f"{'peak MiB':>9} {'mail KB':>8}", flush=True)
    with Smtp() as smtp:
        job = write_job(folder, inventory, smtp.port, pdf=not args.no_pdf)
        for what in ("first", "next"):  # each line as soon as it is measured: a PDF run is long
            r = harness.measure(_BODY, what, job, folder, runs=1)
            print(f"{what:>6} {r['seconds']:>8.1f} {r['pool']:>7.1f} "
                  f"{r['check_and_reports']:>16.1f} {r['mail_and_state']:>13.1f} "
                  f"{r['rss'] / MiB:>9.0f} {smtp.sizes[-1] / 1024:>8.0f}", flush=True)
    assert r["compared"], "the second run did not compare with the first"
    return 0


if __name__ == "__main__":
    sys.exit(main())
