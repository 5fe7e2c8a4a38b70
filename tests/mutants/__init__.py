"""The mutant bank: realistic student bugs, each a find/replace on one file of the reference
solution, kept by section in the *.toml files beside this one; and benign variants, correct
solutions written the way real submissions differ from the reference, in benign.toml.

A mutant (`[[mutant]]`) is a dict with name, section, file (relative to the solution), find,
replace and why. A benign variant (`[[benign]]`) has name and why and a list `edit` of
{file, find, replace}: a convention often spans files (a network and its layers).
"""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path
from typing import Any

Entry = dict[str, Any]  # a mutant's values are strings; a benign variant's `edit` is a list

BANK = Path(__file__).parent
SOLUTION = BANK.parents[1] / "solution"


def entries(kind: str) -> list[Entry]:
    """Every entry of a kind ("mutant" or "benign"), bank by bank in file-name order."""
    found: list[Entry] = []
    for path in sorted(BANK.glob("*.toml")):
        found += tomllib.loads(path.read_text()).get(kind, [])
    return found


def load() -> list[Entry]:
    """Every mutant."""
    return entries("mutant")


def benign() -> list[Entry]:
    """Every benign variant."""
    return entries("benign")


def edits(entry: Entry) -> list[Entry]:
    """The find/replace edits of a mutant (one) or of a benign variant (its list)."""
    changes: list[Entry] = entry.get("edit", [entry])
    return changes


def named(name: str) -> Entry:
    for entry in load() + benign():
        if entry["name"] == name:
            return entry
    raise LookupError(f"no mutant or benign variant named {name!r} in {BANK}")


def copy_of_solution(folder: Path) -> Path:
    return shutil.copytree(SOLUTION, folder, ignore=shutil.ignore_patterns("__pycache__"))


def edit(path: Path, find: str, replacement: str) -> None:
    """Replace `find`, which must occur exactly once: an edit that no longer applies must fail
    loudly, not leave the solution correct."""
    text = path.read_text()
    count = text.count(find)
    assert count == 1, f"{find!r} occurs {count} times in {path}, not once"
    path.write_text(text.replace(find, replacement))


def apply(entry: Entry, solution: Path) -> Path:
    """Write a mutant's bug, or a benign variant's edits, into the copy of the solution at
    `solution`."""
    for change in edits(entry):
        edit(solution / change["file"], change["find"], change["replace"])
    return solution
