"""What `migready suggest` is asked (the command line, checked) and what it answers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from checker.errors import InputError
from checker.facts import Obj, World
from checker.plan import parse_duration, select, select_pool

#: GEN-009's (live) and GEN-003's (storage) limit of moves from one pool in one wave.
DEFAULT_PER_WAVE = 3


@dataclass
class Request:
    """What to suggest a plan for (the command line of `migready suggest`)."""

    inventories: Sequence[str | Path]
    evacuate: str | None = None
    rolling_upgrade: str | None = None
    moves: Sequence[str] = ()
    to: str | None = None
    keep_free: str | None = None
    window: str | None = None
    max_per_wave: int = DEFAULT_PER_WAVE
    avoid: Sequence[str] = ()
    profile: str | Path | None = None
    #: How the plan was asked for, for its header comment.
    command: str = "migready suggest"


@dataclass
class Suggestion:
    """A plan that passes (`text`, None when nothing can move), what rules out the rest."""

    text: str | None
    blockers: list[str]
    #: The verdict `check` gives the written plan.
    verdict: str | None = None
    moves: int = 0
    #: Rolling upgrade: each step's host and where XAPI's evacuation sends each VM.
    steps: list[tuple[str, dict[str, str]]] = field(default_factory=list)


def one_goal(request: Request) -> None:
    goals = [request.evacuate is not None, request.rolling_upgrade is not None, bool(request.moves)]
    if sum(goals) != 1:
        raise InputError("give one of --evacuate HOST, --rolling-upgrade POOL or --move SELECTOR")
    if request.moves and not request.to:
        raise InputError("--move needs --to POOL/HOST or --to POOL")
    if request.to and not request.moves:
        raise InputError("--to goes with --move")


def _selector(text: str) -> Any:
    """A command-line selector: a name, uuid:…, or tag:NAME (a plan's {tag: NAME})."""
    return {"tag": text[4:]} if text.startswith("tag:") else text


def selected_vms(world: World, selectors: Sequence[str]) -> list[Obj]:
    out: list[Obj] = []
    for text in selectors:
        out += [vm for vm in select(world, "VM", _selector(text), "--move") if vm not in out]
    return out


def destination(world: World, to: str | None, vms: list[Obj]) -> tuple[int, Obj | None]:
    """--to POOL or POOL/HOST: the pool's index and the host, if one is named. The VMs all go
    across pools or all stay in theirs: one plan places them one way or the other."""
    assert to is not None
    pool_name, _, host_name = to.partition("/")
    pool = select_pool(world, pool_name, "--to")
    inside = sorted(vm.name for vm in vms if vm.pool == pool)
    if inside and len(inside) < len(vms):
        raise InputError(f"--to {to}: some VMs are in that pool already ({', '.join(inside)}), "
                         "others are not; suggest moves inside a pool and across pools separately")
    return pool, select(world, "host", host_name, "--to", pool=pool)[0] if host_name else None


def parse_window(text: str | None) -> int | None:
    if text is None:
        return None
    seconds = parse_duration(text)
    if seconds is None:
        raise InputError(f"--window {text}: expected a duration such as 4h or 90m")
    return seconds
