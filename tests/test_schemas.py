"""The published JSON Schemas (checker/schemas/, `migready schema`): every sample validates,
and the loaders agree: what the schema accepts in a sample the loader accepts, and a known-bad
document is refused by both (the loaders check keys and values with these schemas, through
checker/yamlschema.py, and add only what a schema cannot know)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from copy import deepcopy
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from checker.cli import SCHEMAS, main
from checker.errors import InputError
from checker.facts import World
from checker.inventory import Inventory
from checker.job import load_job
from checker.plan import load_plan
from checker.report import load_signoff
from checker.waivers import load_waivers

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
#: The day the demo's waivers were written: both are at most 180 days ahead of it.
TODAY = dt.date(2026, 11, 26)


class _EditorLoader(yaml.SafeLoader):
    """YAML as an editor's schema check sees it: an unquoted date stays a string."""


_EditorLoader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def read_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_EditorLoader)  # a SafeLoader


def schema(name: str) -> dict[str, Any]:
    return json.loads(resources.files("checker").joinpath(f"schemas/{name}.schema.json").read_text())


def schema_errors(name: str, doc: Any) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema(name),
                                                format_checker=jsonschema.FormatChecker())
    return [error.message for error in validator.iter_errors(doc)]


@pytest.fixture(scope="module")
def world() -> World:
    return World([Inventory.load(SAMPLES / "pools" / "prod-ch82.json"),
                  Inventory.load(SAMPLES / "pools" / "dr-xs8.json")])


def loaders(world: World) -> dict[str, Callable[[Path], Any]]:
    return {"plan": lambda path: load_plan(path, world),
            "waivers": lambda path: load_waivers(path, today=TODAY),
            "job": load_job,
            "signoff": load_signoff}


SAMPLE_FILES = {"plan": "demo-plan.yaml", "waivers": "demo-waivers.yaml", "job": "job.yaml",
                "signoff": "demo-signoff.yaml"}


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_published_schema_is_a_valid_draft_2020_12_schema(name):
    jsonschema.Draft202012Validator.check_schema(schema(name))
    assert schema(name)["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_each_sample_validates_and_its_loader_accepts_it(name, world):
    path = SAMPLES / SAMPLE_FILES[name]
    assert schema_errors(name, read_yaml(path)) == []
    assert loaders(world)[name](path)


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_each_sample_names_its_schema_for_the_editor(name):
    first = (SAMPLES / SAMPLE_FILES[name]).read_text(encoding="utf-8").splitlines()[0]
    assert first == f"# yaml-language-server: $schema=../checker/schemas/{name}.schema.json"
    assert (SAMPLES / f"../checker/schemas/{name}.schema.json").is_file()


def _set(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """A copy of doc with the value at path replaced (or removed, for ...)."""
    doc = deepcopy(doc)
    *parents, last = path
    target = doc
    for key in parents:
        target = target[key]
    if value is ...:
        del target[last]
    else:
        target[last] = value
    return doc


FINGERPRINT = ":".join(["AB"] * 32)
#: (format, where, new value or ... to remove it, what the loader's error names)
KNOWN_BAD = [
    ("plan", ("operations", 0, "kind"), "teleport", "kind"),
    ("plan", ("operations", 3, "wave"), 0, "operations.3.wave"),
    ("plan", ("operations", 0, "destination", "cluster"), "x", "destination.cluster"),
    ("plan", ("settings", "window"), "soon", "settings.window"),
    ("plan", ("operations",), [], "operations"),
    ("waivers", ("waivers", 0, "ticket"), ..., "ticket is required"),
    ("waivers", ("waivers", 0, "until"), "2026-12-01", "waivers.0.until"),
    ("waivers", ("waivers", 1, "pool"), ..., "needs `pool:`"),
    ("waivers", ("waivers", 0, "expires"), "31/12/2026", "waivers.0.expires"),
    ("waivers", ("waivers", 0, "targets"), [], "waivers.0.targets"),
    ("job", ("concurrency",), 0, "concurrency"),
    ("job", ("pools", 0, "import"), "dump.xml", "exactly one of collect, import or inventory"),
    ("job", ("report", "formats"), ["html", "docx"], "report.formats.1"),
    ("job", ("email", "security"), "ssl", "email.security"),
    ("job", ("checks", 0, "name"), "prod ch82", "checks.0.name"),
    ("job", ("state",), ..., "state is required"),
    ("job", ("email", "username"), "migready", "password_env or password_file is required"),
    ("job", ("email", "password_file"), "demo-signoff.yaml", "no username"),
    ("job", ("pools", 0), {"name": "prod-ch82", "collect": {
        "server": "https://xs01.example.com", "password_file": "job.yaml", "fingerprint": FINGERPRINT,
        "insecure": True}}, "cannot be used together"),
    ("signoff", ("signed_by",), "A. Yamada", "signed_by"),
    ("signoff", ("date",), "2026-02-30", "date"),
]


@pytest.mark.parametrize(("name", "where", "value", "named"), KNOWN_BAD,
                         ids=[f"{n}:{'.'.join(map(str, w))}" for n, w, *_ in KNOWN_BAD])
def test_a_known_bad_document_is_refused_by_schema_and_loader(name, where, value, named, world,
                                                             tmp_path):
    bad = _set(read_yaml(SAMPLES / SAMPLE_FILES[name]), where, value)
    assert schema_errors(name, bad)
    with pytest.raises(InputError) as info:
        loaders(world)[name](beside_samples(tmp_path, bad))
    assert named in str(info.value) + "\n".join(info.value.details)

#: Variants of a sample in forms the loaders accept besides the sample's own: the schema is no
#: stricter than the loader there.
KNOWN_GOOD = [
    ("plan", ("settings", "migration_bandwidth"), 10_000_000_000),
    ("plan", ("settings", "window"), "1h30m"),
    ("plan", ("settings", "citrix_virtual_desktops"), {"prod-ch82": True}),
    ("plan", ("operations", 5, "batch_size"), 2),
    ("waivers", ("waivers", 0, "ticket"), 1204),
    ("waivers", ("waivers", 0, "targets"), ["xs8-h1", "xs8-h2"]),
    ("job", ("checks", 0, "pools"), "prod-ch82"),
    ("job", ("email", "to"), "ops@localhost"),
    ("job", ("email",), {"host": "smtp.example.com", "port": 587, "username": "migready",
                         "password_file": "demo-signoff.yaml", "from": "migready@example.com",
                         "to": ["ops@example.com"], "cc": "cab@example.com", "retries": 1}),
    ("job", ("pools", 0), {"name": "prod-ch82", "collect": {
        "server": "https://xs01.example.com", "password_file": "demo-signoff.yaml",
        "fingerprint": FINGERPRINT, "insecure": False, "timeout": 30}}),
    ("signoff", ("date",), "26 November 2026"),
]


@pytest.mark.parametrize(("name", "where", "value"), KNOWN_GOOD,
                         ids=[f"{n}:{'.'.join(map(str, w))}" for n, w, _ in KNOWN_GOOD])
def test_a_known_good_variant_is_accepted_by_schema_and_loader(name, where, value, world, tmp_path):
    doc = _set(read_yaml(SAMPLES / SAMPLE_FILES[name]), where, value)
    assert schema_errors(name, doc) == []
    assert loaders(world)[name](beside_samples(tmp_path, doc))


def beside_samples(folder: Path, doc: Any) -> Path:
    """doc written as FOLDER/doc.yaml, with the samples linked beside it (a job's relative
    paths name the sample's plan and pools)."""
    for item in SAMPLES.iterdir():
        (folder / item.name).symlink_to(item)
    path = folder / "doc.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def test_the_schema_command_prints_the_packaged_schema(capsys):
    assert main(["schema", "plan"]) == 0
    assert json.loads(capsys.readouterr().out) == schema("plan")


def test_the_schema_command_refuses_an_unknown_format_with_exit_2(capsys):
    assert main(["schema", "inventroy"]) == 2
    assert "'inventroy' is not one of" in capsys.readouterr().err
