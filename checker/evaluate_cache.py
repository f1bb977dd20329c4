"""When the fast path may reuse a result: every cache key of checker/evaluate.py.

A rule's result depends only on the values its expressions read (its head_paths and
assert_paths, found in its syntax tree at load time): two moves, two loop items or two
destination hosts that give those the same values get the same status, evidence and
unknown reason. `CacheKeys` turns what a rule reads into keys; nothing else in the fast
path decides what is equal. Objects count by identity (deeper reads through them are
covered), other values by value, and a fact that cannot be established by the object
missing it as well as why: the reason a rule reports names that object.

The audit's sweeps (one VM live to every other host of its pool) rest on four claims:
- `source_only`: a rule that reads nothing of the destination is judged once per VM;
- `host_classes`: hosts that give a rule the same values are judged once, by one of them;
- `vm_parts`: what a rule reads of the VM's side is keyed once per sweep, joined with the
  host class (the destination's part) for each host;
- `names_destination_only`: a message that reads only the destination's name is rendered
  once, with a stand-in name; `message_shared_by`: advice grouped over several hosts
  shows one rendering.

Each claim is checked by tests/test_reference.py against checker/reference.py, which
evaluates every (operation, destination, rule, subject) on its own and shares none of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from checker.facts import Missing, Obj, World
from checker.policy import Rule, RuleSet
from checker.scope import PlanFacts, Unestablished

if TYPE_CHECKING:
    from checker.evaluate import _Context

#: Variables whose value is the same for every destination a VM is tried against.
SOURCE_SIDE = frozenset({"vm", "src_host", "src_pool", "settings", "host"})
#: Facts of a move that are the same for every live move of a VM in the audit.
OP_SOURCE_SIDE = frozenset({"kind", "wave", "compress", "cross_pool", "window_seconds",
                            "cvd_declared", "mcs_declared", "wave_storage_moves_from_pool",
                            "wave_live_moves_from_pool", "wave_moves_of_vm"})

Paths = tuple[tuple[str, str | None], ...]
#: (representative host, member hosts, the values the rule reads of them, member names)
HostClass = tuple[Obj, list[Obj], Any, list[str]]
#: In a sweep: ((the VM's part of the head key, of the assertion key), the host class's part).
SweepParts = tuple[tuple[Any, Any], Any]
#: A value that cannot be part of a key: whatever reads it is evaluated afresh.
UNHASHABLE = object()


def destination_side(var: str, attr: str | None) -> bool:
    """A read (`dst_host.free_memory`, `op.dst_free_memory`) that differs between the
    destinations of a sweep."""
    return var == "dst_host" or (var == "op" and attr not in OP_SOURCE_SIDE)


def names_destination_only(rule: Rule) -> bool:
    """The rule's messages and command read nothing of the destination but its name: in
    a sweep, one rendering (with a stand-in name) serves every host it fails for."""
    return all(not destination_side(var, attr) or (var, attr) == ("dst_host", "name")
               for var, attr in rule.message_paths)


def message_shared_by(rule: Rule) -> str:
    """Which destinations of a sweep one rendering of the rule's messages may stand for:
    "sweep" when they read nothing of the destination, "class" when what they read of it
    is among what the rule's result reads (so equal in a host class), else "host"."""
    shown = {p for p in rule.message_paths if destination_side(*p)}
    if not shown:
        return "sweep"
    return "class" if shown <= set(rule.head_paths + rule.assert_paths) else "host"


def source_only(rule: Rule) -> bool:
    """The rule's result and messages cannot depend on which host of its own pool the VM
    goes to (the destination pool, in a live move, is its own)."""
    return all(var in SOURCE_SIDE or var == "dst_pool" or (var == "op" and attr in OP_SOURCE_SIDE)
               for var, attr in rule.all_paths if var != (rule.for_each or ("",))[0])


def identity(value: Any) -> Any:
    """An object by its (pool, class, ref); anything else by itself."""
    return value.key if isinstance(value, Obj) else id(value)


class CacheKeys:
    """The keys of the fast path's head and assertion caches (see the module's docstring).
    A key of None means: do not share, evaluate this one afresh."""

    def __init__(self, world: World, rules: RuleSet) -> None:
        self.world = world
        self.object_keys: dict[tuple[Any, str], Any] = {}
        #: Each distinct set of sweep destinations (a pool's hosts but one), numbered: VMs
        #: on the same host share their classes.
        self.sweeps: dict[tuple[Any, ...], int] = {}
        self.sweep_classes: dict[tuple[str, int], list[HostClass]] = {}
        self.head_reads_host = {rule.id: any(destination_side(var, attr) for var, attr in rule.head_paths)
                                for rule in rules.rules}

    # -- the keys -----------------------------------------------------------------------
    def head(self, rule: Rule, context: _Context, parts: SweepParts | None) -> Any:
        """The key of the rule's applies_when and for_each on this move."""
        if parts is None:
            return self._move_key(rule.id, rule.head_paths, context, None, None)
        if self.head_reads_host[rule.id]:
            return (rule.id, "h", parts[0][0], parts[1])
        return (rule.id, "h", parts[0][0])  # the same head for every host of the sweep

    def assertion(self, rule: Rule, context: _Context, parts: SweepParts | None,
                  var: str | None, item: Any) -> Any:
        """The key of the rule's assertion on one subject (`item`, as the loop variable)."""
        if parts is None:
            return self._move_key(rule.id, rule.assert_paths, context, var, item)
        item_part = self._item_part(rule, var, item)
        return None if item_part is UNHASHABLE else (rule.id, "a", parts[0][1], parts[1], item_part)

    def _move_key(self, rule_id: str, paths: Paths, context: _Context, loop_var: str | None,
                  item: Any) -> tuple[Any, ...] | None:
        """Outside a sweep: the values the rule reads of this move, each read afresh."""
        parts: list[Any] = [rule_id, context.move.kind]
        objects = context.objects
        for var, attr in paths:
            if var == loop_var:
                value = item
            elif var == "op":
                value = context.op
            else:
                value = objects.get(var)
            part = self._value_key(value, attr)
            if part is UNHASHABLE:
                return None
            parts.append(part)
        return tuple(parts)

    # -- a sweep's parts ----------------------------------------------------------------
    def sweep_id(self, hosts: list[Obj]) -> int:
        """The number of this set of destinations, for `host_classes`."""
        return self.sweeps.setdefault(tuple(h.key for h in hosts), len(self.sweeps))

    def host_classes(self, rule: Rule, hosts: list[Obj], sweep_id: int) -> list[HostClass]:
        """The sweep's hosts grouped by the values this rule can read of them (and of the
        move, which in a live sweep depends on the host only through its free memory and
        its NIC speed); a rule that reads the host as a whole gets one class per host.
        Kept per set of destinations (`sweep_id`): the VMs of one host share them."""
        classes = self.sweep_classes.get((rule.id, sweep_id))
        if classes is not None:
            return classes
        paths = [p for p in rule.head_paths + rule.assert_paths if destination_side(*p)]
        by_key: dict[tuple[Any, ...], tuple[Obj, list[Obj]]] = {}
        for host in hosts:
            key: list[Any] = []
            for var, attr in paths:
                if var == "dst_host" and attr is not None:
                    key.append(self._object_key(host, attr))
                elif var == "op" and attr == "dst_free_memory":
                    key.append(self._object_key(host, "free_memory"))
                elif var == "op" and attr in {"bandwidth", "bandwidth_source", "estimate_seconds"}:
                    key.append(self._object_key(host, "management_nic_speed"))
                else:
                    key.append(host.key)  # anything else: this host alone
            entry = by_key.setdefault(tuple(key), (host, []))
            entry[1].append(host)
        classes = self.sweep_classes[(rule.id, sweep_id)] = [
            (rep, members, key, [h.name for h in members]) for key, (rep, members) in by_key.items()]
        return classes

    def vm_parts(self, rule: Rule, context: _Context) -> tuple[Any, Any] | None:
        """The VM's part of the rule's head key and of its assertion key in a sweep, or None
        (then keys are built per move)."""
        head = self._vm_part(rule, rule.head_paths, context)
        check = self._vm_part(rule, rule.assert_paths, context)
        return None if head is None or check is None else (head, check)

    def _vm_part(self, rule: Rule, paths: Paths, context: _Context) -> Any:
        """The values a rule reads that are the same for every move of a sweep (the VM, its
        source, the pool, settings, the move's fixed facts), or None when the rule reads
        something of the move this split does not know."""
        parts: list[Any] = []
        var = rule.for_each[0] if rule.for_each else None
        for name, attr in paths:
            if name == var or name == "dst_host":
                continue  # the loop item, or the host class
            if name == "op" and attr not in OP_SOURCE_SIDE:
                if attr == "estimate_seconds":  # the footprint over the host's bandwidth
                    parts.append(self._object_key(context.move.vm, "memory_footprint"))
                elif attr not in {"dst_free_memory", "bandwidth", "bandwidth_source"}:
                    return None
                continue
            part = self._value_key(context.var(name), attr)
            if part is UNHASHABLE:
                return None
            parts.append(part)
        return tuple(parts)

    def _item_part(self, rule: Rule, var: str | None, item: Any) -> Any:
        if var is None:
            return None
        if not isinstance(item, Obj):
            return UNHASHABLE  # a plan item (disk move, SR demand): not shared
        return tuple(self._value_key(item, attr) for name, attr in rule.assert_paths if name == var)

    # -- values -------------------------------------------------------------------------
    def _value_key(self, value: Any, attr: str | None) -> Any:
        """What a rule reading `value.attr` (or `value` whole) sees, as part of a cache key:
        identity for a whole object, the fact's value otherwise; UNHASHABLE if neither."""
        if value is None or attr is None:
            return identity(value)
        if isinstance(value, Obj):
            return self._object_key(value, attr)
        return _fact_key(value, attr, self.world)

    def _object_key(self, obj: Obj, attr: str) -> Any:
        memo = (obj.key, attr)
        part = self.object_keys.get(memo)
        if part is None:
            part = self.object_keys[memo] = _fact_key(obj, attr, self.world)
        return part


def _hashable(value: Any) -> Any:
    if isinstance(value, Obj):
        return value.key
    if isinstance(value, (list, tuple)):
        items = tuple(_hashable(v) for v in value)
        return UNHASHABLE if UNHASHABLE in items else items
    if isinstance(value, dict):
        return _hashable(sorted(value.items()))
    if isinstance(value, PlanFacts):
        return UNHASHABLE
    try:
        hash(value)
    except TypeError:
        return UNHASHABLE
    return value


def _fact_key(owner: Any, attr: str, world: World) -> Any:
    """The value a rule would read as `owner.attr`, in hashable form, for the cache key.

    A missing fact keys by its owner too: a plan fact built from it (the estimate from the
    footprint, the destination's free memory) is unknown with a reason naming the object,
    so objects missing the same field for the same reason do not share a result."""
    if isinstance(owner, Obj):
        try:
            value = _hashable(world.value(owner, attr))
            # A value read as a field's default carries why, in the evidence: only values with
            # the same provenance share a result.
            return (attr, value, world.defaults_used(owner, attr)) if world.has_defaults else (attr, value)
        except Missing as exc:
            return (attr, "missing", owner.key, exc.reason)
        except KeyError:
            return UNHASHABLE
    if isinstance(owner, PlanFacts):
        value = owner.get(attr)
        if isinstance(value, Unestablished):
            return (attr, "missing", value.reason)
        part = _hashable(value)
        return part if part is UNHASHABLE else (attr, part)
    return UNHASHABLE
