"""The spec can tell right from wrong: every mutant in tests/mutants/ is a realistic student bug
applied to the reference solution; the spec must fail it in the bug's own section and pass every
other section (LeNet, the integration of the foundation layers and the network, may fail too).
Every benign variant there is a correct solution written another allowed way: it gets full marks.

Running the whole spec 100 times would cost CI ten minutes, so each mutant runs the spec modules
that can reach the mutated file, and only those: a module that never touches a file (directly or
through the solution's own imports) cannot see its mutation. `test_selection_is_sound` keeps the
reasoning honest on the unmutated solution.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from functools import cache
from pathlib import Path

import pytest

from tests import mutants

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solution"
SPEC = ROOT / "spec"
FOUNDATION = {
    "FullyConnected",
    "ReLU",
    "SoftMax",
    "Loss",
    "Optimizers",
    "Initializers",
    "Flatten",
    "Conv",
    "Pooling",
}
# Sections that build on others by definition, so a bug there may show here too.
BUILDS_ON = {"LeNet": FOUNDATION | {"Constraints", "NeuralNetwork"}}


MUTANTS = mutants.load()
BENIGN = mutants.benign()


# -- which spec modules can reach which solution file -----------------------------------------


def solution_file(dotted: str) -> str | None:
    path = SOLUTION / (dotted.replace(".", "/") + ".py")
    return path.relative_to(SOLUTION).as_posix() if path.is_file() else None


def imports_of(relative: str) -> set[str]:
    """Solution files that `relative` imports, in any of the styles the solution uses."""
    package = str(Path(relative).parent).replace("/", ".").strip(".")
    found = set()
    for node in ast.walk(ast.parse((SOLUTION / relative).read_text())):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            candidates = [module] + [f"{module}.{alias.name}" for alias in node.names]
        else:
            continue
        found |= {f for f in map(solution_file, candidates) if f}
    return found


@cache
def reaching(relative: str) -> frozenset[str]:
    """`relative` and every solution file that imports it, directly or not."""
    files = [p.relative_to(SOLUTION).as_posix() for p in SOLUTION.rglob("*.py")]
    reached, grew = {relative}, True
    while grew:
        new = {f for f in files if f not in reached and imports_of(f) & reached}
        reached |= new
        grew = bool(new)
    return frozenset(reached)


# `kit` is the NeuralNetwork section's name for the layers a clause runs with: the submission's
# own (`sub`) or the harness's (`sub.reference`).
SUBMISSION_ACCESS = re.compile(
    r"\b(?:sub|kit)\.((?:Layers|Optimization|Models)\.\w+|NeuralNetwork)\b"
)
SUPPORT_IMPORT = re.compile(r"from spec\.support(?:\.(\w+))? import ([\w, ()\n]+)")


@cache
def touched_by(spec_module: Path) -> frozenset[str]:
    """Solution files a spec module reaches through `sub`, itself or through spec.support."""
    text = spec_module.read_text()
    for single, names in SUPPORT_IMPORT.findall(text):
        for name in [single] if single else re.findall(r"\w+", names):
            helper = SPEC / "support" / f"{name}.py"
            if helper.is_file():
                text += helper.read_text()
    return frozenset(f for f in map(solution_file, SUBMISSION_ACCESS.findall(text)) if f)


def modules_reaching(*relative: str) -> list[Path]:
    files = frozenset().union(*map(reaching, relative))
    return sorted(m for m in SPEC.glob("test_*.py") if touched_by(m) & files)


# -- running the spec -------------------------------------------------------------------------


def run_spec(solution: Path, modules: list[Path], results: Path) -> dict[str, list[dict]]:
    """Outcomes of spec modules against a solution folder, grouped by section."""
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *map(str, modules),
            "--solution",
            str(solution),
            "-p",
            "graders.plugin",
            "--results",
            str(results),
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
    )
    assert results.exists(), (
        f"the spec run wrote no results:\n{run.stdout[-2000:]}{run.stderr[-2000:]}"
    )
    sections = defaultdict(list)
    for record in json.loads(results.read_text())["tests"]:
        sections[record["section"]].append(record)
    return sections


def test_bank_is_large_and_names_are_unique():
    """At least 40 mutants and some benign variants, each named once."""
    names = [m["name"] for m in MUTANTS + BENIGN]
    assert len(MUTANTS) >= 40, f"only {len(MUTANTS)} mutants"
    assert BENIGN, "no benign variants"
    assert len(set(names)) == len(names), "duplicate names in the bank"


def test_selection_is_sound():
    """Every spec module is selected for the files it reaches (its own section's file at least),
    and a file no module reaches has no mutant."""
    for module in SPEC.glob("test_*.py"):
        assert touched_by(module), f"{module.name} reaches no solution file"
    for entry in MUTANTS + BENIGN:
        files = [change["file"] for change in mutants.edits(entry)]
        assert modules_reaching(*files), f"{entry['name']}: no spec module reaches it"


@pytest.mark.timeout(900)
@pytest.mark.parametrize("mutant", MUTANTS, ids=[m["name"] for m in MUTANTS])
def test_spec_fails_the_mutant_in_its_section_only(mutant, tmp_path):
    copy = mutants.apply(mutant, mutants.copy_of_solution(tmp_path / "solution"))

    sections = run_spec(copy, modules_reaching(mutant["file"]), tmp_path / "results.json")

    own = sections[mutant["section"]]
    assert own, f"{mutant['name']}: no test of {mutant['section']} reaches {mutant['file']}"
    assert any(r["outcome"] in ("failed", "error") for r in own), (
        f"{mutant['name']} ({mutant['why']}) passes every test of {mutant['section']}"
    )
    tolerated = {s for s, bases in BUILDS_ON.items() if mutant["section"] in bases}
    collateral = [
        f"{r['nodeid']}: {r['reason']}"
        for section, records in sections.items()
        if section not in tolerated | {mutant["section"]}
        for r in records
        if r["outcome"] in ("failed", "error")
    ]
    assert not collateral, f"{mutant['name']} also fails other sections:\n" + "\n".join(collateral)


@pytest.mark.timeout(900)
@pytest.mark.parametrize("variant", BENIGN, ids=[v["name"] for v in BENIGN])
def test_spec_gives_full_marks_to_the_benign_variant(variant, tmp_path):
    copy = mutants.apply(variant, mutants.copy_of_solution(tmp_path / "solution"))
    files = [change["file"] for change in mutants.edits(variant)]

    sections = run_spec(copy, modules_reaching(*files), tmp_path / "results.json")

    lost = [
        f"{r['nodeid']}: {r['reason']}"
        for records in sections.values()
        for r in records
        if r["outcome"] != "passed"
    ]
    assert sections, f"{variant['name']}: no spec test ran"
    assert not lost, f"{variant['name']} ({variant['why']}) loses points:\n" + "\n".join(lost)
