"""The spec can tell right from wrong: every mutant in tests/mutants/ is a realistic student bug
applied to the reference solution; the spec must fail it in the bug's own section and pass every
other section (LeNet, the integration of the foundation layers, may fail with them)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solution"
FOUNDATION = {"FullyConnected", "ReLU", "SoftMax", "Loss", "Optimizers", "Initializers",
              "Flatten", "Conv", "Pooling"}
# Sections that build on others by definition, so a bug there may show here too.
BUILDS_ON = {"LeNet": FOUNDATION | {"Constraints", "NeuralNetwork"}}


def load_mutants() -> list[dict]:
    mutants = []
    for path in sorted((ROOT / "tests" / "mutants").glob("*.toml")):
        mutants += tomllib.loads(path.read_text())["mutant"]
    return mutants


MUTANTS = load_mutants()


def run_spec(solution: Path, results: Path) -> dict[str, list[dict]]:
    """Outcomes of the spec against a solution folder, grouped by section."""
    subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "spec"), "--solution", str(solution),
         "-p", "graders.plugin", "--results", str(results), "-q", "-p", "no:cacheprovider",
         "-p", "no:xdist"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
    )
    sections = defaultdict(list)
    for record in json.loads(results.read_text())["tests"]:
        sections[record["section"]].append(record)
    return sections


def test_bank_is_large_and_names_are_unique():
    """At least 40 mutants, each named once, each attributed to a section the spec has."""
    names = [m["name"] for m in MUTANTS]
    assert len(names) >= 40, f"only {len(names)} mutants"
    assert len(set(names)) == len(names), "duplicate mutant names"


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("mutant", MUTANTS, ids=[m["name"] for m in MUTANTS])
def test_spec_fails_the_mutant_in_its_section_only(mutant, tmp_path):
    copy = shutil.copytree(SOLUTION, tmp_path / "solution",
                           ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / mutant["file"]
    source = target.read_text()
    assert source.count(mutant["find"]) == 1, (
        f"mutant {mutant['name']} no longer applies: its text occurs "
        f"{source.count(mutant['find'])} times in {mutant['file']}")
    target.write_text(source.replace(mutant["find"], mutant["replace"]))

    sections = run_spec(copy, tmp_path / "results.json")

    own = sections[mutant["section"]]
    assert any(r["outcome"] in ("failed", "error") for r in own), (
        f"{mutant['name']} ({mutant['why']}) passes every test of {mutant['section']}")
    tolerated = {s for s, bases in BUILDS_ON.items() if mutant["section"] in bases}
    collateral = [f"{r['nodeid']}: {r['reason']}" for section, records in sections.items()
                  if section not in tolerated | {mutant["section"]}
                  for r in records if r["outcome"] in ("failed", "error")]
    assert not collateral, f"{mutant['name']} also fails other sections:\n" + "\n".join(collateral)
