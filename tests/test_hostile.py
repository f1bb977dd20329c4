"""The hostile-input corpus (tests/hostile/): each case, one folder, runs one command through
the real CLI (`python -m checker`, a process of its own) and must fail closed: the exit
code it names, a message that says where and why, no traceback, no hang, and no file left
behind or changed but those it names.

A case is a folder holding `case.yaml` and the inputs the command reads; the command runs
in a copy of the folder, so relative paths name those inputs:

    command: [check, "{pools}/prod-ch82.json", --plan, plan.yaml]
    exit: 2
    message: "plan.yaml:1:7: '2026-02-30' is not a valid date"   # a fragment of stderr
    stream: stdout          # optional: look for the message in stdout instead
    writes: [real.json]     # optional: the files it may create or change (nothing else)
    fifos: [pipe]           # optional: FIFOs to make first (git cannot hold them)

`{pools}` is the sample pools' folder (tests/policies/_base) and `{shared}` is
tests/hostile/_shared (inputs that several cases read; checked unchanged too). Adding a
case is adding a folder.
"""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

CORPUS = Path(__file__).resolve().parent / "hostile"
SHARED = CORPUS / "_shared"
POOLS = Path(__file__).resolve().parent / "policies" / "_base"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "case.yaml").is_file())
#: A case that has not finished by then hangs (the YAML and sandbox bombs did, unbounded).
TIMEOUT = 60
#: Address space per case: an unbounded expansion ends in MemoryError, not in the machine.
MEMORY = 3 << 30


@dataclass
class Outcome:
    spec: dict
    code: int | None
    stdout: str
    stderr: str
    changed: list[str]


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under `root`: kind, mode, and content digest or link target."""
    out = {}
    for path in sorted(root.rglob("*")):
        info = path.lstat()
        if stat.S_ISREG(info.st_mode):
            content = hashlib.sha256(path.read_bytes()).hexdigest()
        elif stat.S_ISLNK(info.st_mode):
            content = os.readlink(path)
        else:
            content = None
        out[str(path.relative_to(root))] = (stat.S_IFMT(info.st_mode), stat.S_IMODE(info.st_mode), content)
    return out


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def run_case(name: str, base: Path) -> Outcome:
    spec = yaml.safe_load((CORPUS / name / "case.yaml").read_text(encoding="utf-8"))
    work = base / name
    shutil.copytree(CORPUS / name, work, symlinks=True)
    for fifo in spec.get("fifos", []):
        os.mkfifo(work / fifo)
    before, shared = snapshot(work), snapshot(SHARED)
    args = [arg.format(pools=POOLS, shared=SHARED) for arg in spec["command"]]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIGREADY_")}
    env["HOSTILE_PW"] = "not-a-real-password"
    env.pop("HOSTILE_UNSET", None)
    try:
        proc = subprocess.run([sys.executable, "-m", "checker", *args], cwd=work, env=env,
                              capture_output=True, text=True, errors="replace", timeout=TIMEOUT,
                              preexec_fn=_limit_memory, stdin=subprocess.DEVNULL, check=False)
        code, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        code, out, err = None, str(exc.stdout or ""), f"timed out after {TIMEOUT} s"
    after = snapshot(work)
    allowed = set(spec.get("writes", []))
    changed = sorted(k for k in before.keys() | after.keys()
                     if before.get(k) != after.get(k) and k not in allowed)
    changed += [f"{{shared}}/{k}" for k in sorted(shared.keys() | snapshot(SHARED).keys())
                if shared.get(k) != snapshot(SHARED).get(k)]
    changed += [f"{w} (not written)" for w in allowed if not (work / w).is_file()]
    return Outcome(spec, code, out, err, changed)


@pytest.fixture(scope="session")
def outcomes(request, tmp_path_factory) -> dict[str, Outcome]:
    """The selected cases, run up front as many at a time as there are cores."""
    wanted = [item.callspec.params["case"] for item in request.session.items
              if getattr(item, "originalname", "") == "test_hostile_input" and hasattr(item, "callspec")]
    base = tmp_path_factory.mktemp("hostile")
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        return dict(zip(wanted, pool.map(lambda name: run_case(name, base), wanted), strict=True))


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 120


@pytest.mark.parametrize("case", CASES)
def test_hostile_input(outcomes, case):
    o = outcomes[case]
    assert "Traceback" not in o.stderr, o.stderr
    assert o.code == o.spec["exit"], f"exit {o.code}, expected {o.spec['exit']}\n{o.stderr}"
    stream = o.stdout if o.spec.get("stream") == "stdout" else o.stderr
    assert o.spec["message"] in stream, f"message not found in {o.spec.get('stream', 'stderr')}:\n{stream}"
    assert o.changed == [], f"files left behind or changed: {o.changed}"
