"""The mutant bank: realistic student bugs, each a find/replace on one file of the reference
solution, kept by section in the *.toml files beside this one.

A mutant is a dict with name, section, file (relative to the solution), find, replace and why.
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

BANK = Path(__file__).parent
SOLUTION = BANK.parents[1] / "solution"


def load() -> list[dict[str, str]]:
    """Every mutant, bank by bank in file-name order."""
    mutants: list[dict[str, str]] = []
    for path in sorted(BANK.glob("*.toml")):
        mutants += tomllib.loads(path.read_text())["mutant"]
    return mutants


def named(name: str) -> dict[str, str]:
    for mutant in load():
        if mutant["name"] == name:
            return mutant
    raise LookupError(f"no mutant named {name!r} in {BANK}")


def copy_of_solution(folder: Path) -> Path:
    return shutil.copytree(SOLUTION, folder, ignore=shutil.ignore_patterns("__pycache__"))


def edit(path: Path, find: str, replacement: str) -> None:
    """Replace `find`, which must occur exactly once: an edit that no longer applies must fail
    loudly, not leave the solution correct."""
    text = path.read_text()
    count = text.count(find)
    assert count == 1, f"{find!r} occurs {count} times in {path}, not once"
    path.write_text(text.replace(find, replacement))


def apply(mutant: dict[str, str], solution: Path) -> Path:
    """Write the mutant's bug into the copy of the solution at `solution`."""
    edit(solution / mutant["file"], mutant["find"], mutant["replace"])
    return solution
