#!/usr/bin/env bash
# The wheel is the product: build it, install it into a throwaway venv outside the checkout,
# and run the tool from an empty folder as a user would (rules, check, PDF report, demo).
# Any failure fails (make test, .ci/run). PY: the Python to make the venv with.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=$(mktemp -d "${TMPDIR:-/tmp}/migready-smoke.XXXXXX")
trap 'rm -rf "$work"' EXIT

step() { echo "smoke: [$SECONDS s] $*"; }
fail() { echo "smoke: FAILED: $*" >&2; exit 1; }

step "build the wheel"
"$repo/.venv/bin/pip" wheel --quiet --no-deps -w "$work/dist" "$repo"
step "install it into a fresh venv in $work"
"${PY:-python3}" -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "$work"/dist/migready-*.whl
migready="$work/venv/bin/migready"

mkdir "$work/run"
cp "$repo/samples/pools/prod-ch82.json" "$repo/samples/pools/dr-xs8.json" "$repo/samples/demo-plan.yaml" "$work/run/"
cd "$work/run"
where=$("$work/venv/bin/python" -c 'import checker; print(checker.__file__)')
[[ $where == "$work/venv/"* ]] || fail "checker imported from $where, not from the wheel"

step "migready --version"
"$migready" --version
step "migready rules list"
"$migready" rules list > rules.txt
grep -q '^MEM-001 ' rules.txt || fail "rules list has no MEM-001"
step "migready check (the demo plan: blocked, exit 1)"
code=0
"$migready" check prod-ch82.json dr-xs8.json --plan demo-plan.yaml --format json -o results.json || code=$?
[[ $code == 1 ]] || fail "check exited $code, expected 1 (blocked)"
step "migready report --format pdf"
"$migready" report results.json --format pdf -o report.pdf
pdfinfo report.pdf | grep -q '^Pages: *[1-9]' || fail "report.pdf is not a PDF with pages"
step "migready demo -o out"
"$migready" demo -o out
for f in demo-results.json demo-report.{en,ja}.{html,pdf}; do
  [[ -s out/$f ]] || fail "demo wrote no out/$f"
done
step "ok: $(ls | tr '\n' ' ')"
