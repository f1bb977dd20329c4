"""The HTML report in a real browser: Debian's Chromium, driven by Playwright.

Opened from disk as a user opens it: the demo report in English and Japanese, a readiness
audit of a synthetic 8-host, 120-VM pool made by bench/synth.py and checked, and a 5,000-VM,
64-host audit (results/2 written by tests/test_triage.py's audit_results, as bench_audit's pool
fails: a VM in ten on local disks, a third without its management agent). Problems are
cards (one per rule and VM or host, checker.triage); a plan's operations are cards too.

Chromium comes from the system (scripts/install-system-deps.sh installs it): Playwright is
given its path and never downloads a browser.
"""

import json
import re
import shutil
import subprocess
import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from test_triage import audit_results

from bench.synth import write_dump
from checker import demo
from checker.check import CheckOptions, run_check
from checker.dump import import_file
from checker.inventory import save_document
from checker.report import build_context, render_html
from checker.triage import build_triage

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]' brings playwright")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
REPORTS = ["en", "ja", "audit", "audit-5000"]
PROBLEM = {"fail", "unknown", "waived"}   # the statuses a card lists (pass, not_applicable: not)
FILTERS = {"#f-verdict": "select", "#f-rule": "select", "#f-host": "select", "#f-search": "fill"}

#: The key of every card on screen: an operation's id, or a problem's rule/status/holder.
VISIBLE_KEYS = """() => Array.from(document.querySelectorAll("article.card"))
    .filter(c => c.offsetParent !== null).map(c => c.dataset.key)"""


def _hosts_of(op: dict[str, Any]) -> set[str]:
    """The hosts an operation moves from, to or off."""
    return {h for h in ((op.get("source") or {}).get("host"), (op.get("destination") or {}).get("host"),
                        (op.get("host") or {}).get("name")) if h}


@dataclass
class Card:
    """What the results say a card is about: what each filter must match."""
    verdict: str
    rules: set[str]
    hosts: set[str]
    words: str


@dataclass
class Report:
    """A report on disk and the results it was made from (what the filters must agree with)."""
    path: Path
    results: dict[str, Any]
    cards: dict[str, Card] = field(init=False)

    def __post_init__(self) -> None:
        ops = {o["id"]: o for o in self.results["operations"]}
        rank = {v: i for i, v in enumerate(("blocked", "undecided", "ready_with_warnings", "ready"))}
        self.cards = {}
        for g in [*(t := build_triage(self.results)).blockers, *t.warnings, *t.waived]:
            for p in g.problems:
                hosts = set(p.destinations).union(*(_hosts_of(ops[i]) for i in p.operations))
                verdict = min((ops[i]["verdict"] for i in p.operations), key=rank.__getitem__)
                self.cards[f"{p.rule}/{p.status}/{p.holder}"] = Card(
                    verdict, {p.rule}, hosts, " ".join([p.holder, *p.subjects]).lower())
        if self.results.get("mode") == "audit":
            return  # an audit has no card per operation
        problem = defaultdict(set)
        for f in self.results["findings"]:
            if f["status"] in PROBLEM:
                problem[f["operation"]].add(f["rule"])
        for op in ops.values():
            if "parent" not in op:
                moves = [op, *(ops[c] for c in op.get("children", []))]
                self.cards[op["id"]] = Card(
                    op["verdict"], set().union(*(problem[m["id"]] for m in moves)),
                    set().union(*map(_hosts_of, moves)),
                    " ".join((m.get("vm") or {}).get("name", "") for m in moves).lower())

    def hosts(self) -> set[str]:
        return set().union(*map(_hosts_of, self.results["operations"]))


@dataclass
class Opened:
    page: Any
    errors: list[str]
    requests: list[str]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-system-deps.sh (Debian: chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Report]:
    folder = tmp_path_factory.mktemp("reports")
    outcome = demo.run_demo(folder, pdf=False)
    results = json.loads(outcome.files[0].read_text(encoding="utf-8"))
    made = {lang: Report(folder / f"demo-report.{lang}.html", results) for lang in ("en", "ja")}
    write_dump(folder / "synth.xml", hosts=8, vms=120, vdis=240, seed=1)
    save_document(import_file(folder / "synth.xml"), folder / "synth.json")
    audit = run_check(CheckOptions(inventories=[folder / "synth.json"]))
    (folder / "audit.html").write_text(render_html(build_context(audit, lang="en")), encoding="utf-8")
    made["audit"] = Report(folder / "audit.html", audit)
    big = audit_results(5000, 64)
    (folder / "audit-5000.html").write_text(render_html(build_context(big, lang="en")), encoding="utf-8")
    made["audit-5000"] = Report(folder / "audit-5000.html", big)
    return made


def open_report(browser, report: Report, *, javascript: bool = True) -> Opened:
    """The report in a fresh browser context; every request but the file itself is refused
    and recorded, every console error and uncaught exception recorded."""
    context = browser.new_context(java_script_enabled=javascript)
    url = report.path.as_uri()
    opened = Opened(context.new_page(), [], [])

    def refuse_all_but_the_file(route) -> None:
        if route.request.url == url:
            route.continue_()
        else:
            opened.requests.append(route.request.url)
            route.abort()

    context.route("**/*", refuse_all_but_the_file)
    opened.page.on("console", lambda m: opened.errors.append(m.text) if m.type == "error" else None)
    opened.page.on("pageerror", lambda exc: opened.errors.append(str(exc)))
    opened.page.goto(url, wait_until="load")
    return opened


@pytest.fixture(scope="module")
def pages(browser, reports) -> Iterator[dict[str, Opened]]:
    """Each report opened once, with JavaScript; every test leaves its filters cleared."""
    opened = {name: open_report(browser, report) for name, report in reports.items()}
    yield opened
    for o in opened.values():
        o.page.context.close()


@pytest.fixture
def page(request, pages):
    """The opened report of the test's `name`, its filters cleared afterwards; no console
    error and no request may happen while the test uses it."""
    opened = pages[request.getfixturevalue("name")]
    yield opened.page
    for selector, how in FILTERS.items():
        getattr(opened.page, f"{how}_option" if how == "select" else how)(selector, "")
    assert opened.errors == []
    assert opened.requests == []


def visible(page) -> set[str]:
    return set(page.evaluate(VISIBLE_KEYS))


@pytest.mark.parametrize("name", REPORTS)
def test_the_report_loads_with_no_console_error_and_no_request(pages, page, name):
    assert page.locator("#verdict").inner_text().strip()
    assert pages[name].errors == []
    assert pages[name].requests == []    # self-contained: no stylesheet, script, font or image fetched


@pytest.mark.parametrize("name", REPORTS)
def test_each_filter_shows_the_cards_the_results_say(reports, page, name):
    cards = reports[name].cards
    assert visible(page) == set(cards)     # every problem (and a plan's every operation) a card

    for verdict in {c.verdict for c in cards.values()}:
        page.select_option("#f-verdict", verdict)
        assert visible(page) == {k for k, c in cards.items() if c.verdict == verdict}, verdict
    page.select_option("#f-verdict", "")

    rules = page.eval_on_selector_all("#f-rule option", "os => os.map(o => o.value).filter(Boolean)")
    assert rules
    for rule in rules:
        page.select_option("#f-rule", rule)
        assert visible(page) == {k for k, c in cards.items() if rule in c.rules}, rule
    page.select_option("#f-rule", "")

    offered = page.eval_on_selector_all("#f-host option", "os => os.map(o => o.value).filter(Boolean)")
    assert reports[name].hosts() <= set(offered)
    for host in offered[:12]:
        page.select_option("#f-host", host)
        assert visible(page) == {k for k, c in cards.items() if host in c.hosts}, host
    page.select_option("#f-host", "")

    vm = next(word for c in cards.values() for word in c.words.split() if word.startswith(("vm-", "db-")))
    page.fill("#f-search", vm.upper())   # case does not matter
    assert visible(page) == {k for k, c in cards.items() if vm in c.words}
    page.fill("#f-search", "no such words anywhere")
    assert visible(page) == set()
    page.fill("#f-search", "")
    assert visible(page) == set(cards)


@pytest.mark.parametrize("name", ["en"])
def test_the_demo_filters_name_the_expected_moves(page, name):
    """The same, said with the demo's own subjects."""
    page.select_option("#f-verdict", "ready")
    assert visible(page) == {"op-1", "op-2"}            # web-01 and app-01 to dr-xs8
    page.select_option("#f-verdict", "")
    page.select_option("#f-rule", "MEM-001")            # legacy-01 live; big-01, app-02 evacuated
    assert visible(page) == {"op-5", "op-7", "op-8", "MEM-001/fail/legacy-01", "MEM-001/fail/big-01",
                             "MEM-001/fail/app-02"}
    page.select_option("#f-rule", "")
    page.select_option("#f-host", "xs8-h2")             # db-01, the only move to xs8-h2
    assert visible(page) == {"op-3", "CPU-001/fail/db-01", "DISK-001/fail/db-01", "LIM-005/fail/db-01",
                             "DISK-002/fail/db-01"}
    page.select_option("#f-host", "")
    page.fill("#f-search", "legacy-01")
    assert {k for k in visible(page) if k.startswith("op-")} == {"op-5", "op-6", "op-7", "op-8"}


@pytest.mark.parametrize("name", ["en", "audit", "audit-5000"])
def test_the_host_filter_offers_hosts_only(reports, page, name):
    offered = page.eval_on_selector_all("#f-host option", "os => os.map(o => o.value).filter(Boolean)")
    assert set(offered) == reports[name].hosts()


@pytest.mark.parametrize("name", REPORTS)
def test_the_page_is_complete_without_javascript(browser, reports, page, name):
    cards = visible(page)
    opened = open_report(browser, reports[name], javascript=False)
    plain = opened.page
    assert not plain.locator(".filters").is_visible()      # the filters need JavaScript: not shown
    assert visible(plain) == cards
    assert plain.locator("article.card").count() == plain.locator("article.card:visible").count()
    for section in ("#summary", "#blockers", "#waivers", "#signoff", "#catalogue"):
        assert plain.locator(section).is_visible(), section
    assert opened.errors == [] and opened.requests == []
    plain.context.close()


def pdf_pages(pdf: bytes) -> list[str]:
    """Each page's words (poppler's pdftotext: pypdf takes minutes on a 200-page report), page
    numbers left out, in NFKC so that the CJK compatibility forms of PDF fonts compare equal
    to the page's text."""
    out = subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True)
    pages = unicodedata.normalize("NFKC", out.stdout.decode()).split("\f")[:-1]
    return [re.sub(r"\s+", " ", re.sub(r"\b\d+ / \d+\b", "", p)).strip() for p in pages]


@pytest.mark.parametrize("name", REPORTS)
def test_printing_from_the_browser_gives_a_sane_pdf(page, name):
    """Sane: a page for each forced break at least; the pages filled (a printed page holds
    2,000 characters and more, so on average 1,200 beyond the forced breaks), none blank; the
    cover first, the rule catalogue last, no filters on paper."""
    forced = page.locator("section.page").count() + 1     # the cover, and each such section
    title = unicodedata.normalize("NFKC", page.locator("h1").inner_text().strip())
    last_rule = page.locator("#catalogue td strong").last.inner_text()
    search_label = page.locator("#f-search").get_attribute("placeholder")
    words = pdf_pages(page.pdf(prefer_css_page_size=True, print_background=True))
    assert forced <= len(words) <= forced + sum(map(len, words)) // 1200, (len(words), forced)
    assert all(words), f"blank pages: {[n for n, w in enumerate(words, 1) if not w]}"
    assert title in words[0]
    assert last_rule in words[-1]
    assert search_label not in " ".join(words)
