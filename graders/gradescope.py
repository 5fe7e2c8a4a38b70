"""Gradescope's autograder: `python -m graders gradescope --out autograder.zip`.

Gradescope builds a Docker image from the zip, running its `setup.sh` once, then runs
`run_autograder` for every submission, which must leave `/autograder/results/results.json`
(the autograder specification of Gradescope's documentation). The zip holds both scripts
(graders/autograder/), the harness's source tree, the rubric, and requirements.txt: the
harness's dependencies, theirs in turn, each pinned to the version installed where the zip was
built. The same bytes come from the same tree and environment.
"""

from __future__ import annotations

import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from graders import grade, run

SCRIPTS = Path(__file__).with_name("autograder")
# Docker containers usually refuse user namespaces; Landlock, seccomp and rlimits still bind,
# and the container itself is the outer boundary.
GRADE_FLAGS = ("--accept-missing", "namespaces")
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say: no build time in the bytes


def pinned_requirements() -> list[str]:
    """`name==version` for each dependency of the harness and of those, as installed here."""
    project = tomllib.loads((run.ROOT / "pyproject.toml").read_text())["project"]
    todo = [Requirement(text) for text in project["dependencies"]]
    pins: dict[str, str] = {}
    while todo:
        requirement = todo.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(requirement.name)
        if name not in pins:
            try:
                pins[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                raise run.HarnessError(
                    f"{name} is not installed here: pip install -e . first"
                ) from None
            todo += [Requirement(text) for text in metadata.requires(name) or []]
        if not requirement.specifier.contains(pins[name], prereleases=True):  # each, not the first
            raise run.HarnessError(f"{name} {pins[name]} is installed, but {requirement} is needed")
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


def harness_files() -> list[Path]:
    """What a grading needs of this repository: the pytest configuration and the folders whose
    contents the fingerprint of a report hashes."""
    files = [run.ROOT / "pyproject.toml"]
    for folder in grade.HARNESS:
        files += [
            path
            for path in (run.ROOT / folder).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts
        ]
    return sorted(files)


def add(archive: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, ZIP_TIME)
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def build(out: Path, rubric_file: Path, grade_flags: tuple[str, ...] = GRADE_FLAGS) -> Path:
    """Write the autograder zip to `out`, grading with the rubric in `rubric_file`."""
    runner = (
        (SCRIPTS / "run_autograder").read_text().replace("@GRADE_FLAGS@", " ".join(grade_flags))
    )
    requirements = "\n".join(pinned_requirements()) + "\n"
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w") as archive:
        add(archive, "setup.sh", (SCRIPTS / "setup.sh").read_bytes(), executable=True)
        add(archive, "run_autograder", runner.encode(), executable=True)
        add(archive, "requirements.txt", requirements.encode())
        add(archive, "rubric.toml", Path(rubric_file).read_bytes())
        for path in harness_files():
            add(archive, f"harness/{path.relative_to(run.ROOT).as_posix()}", path.read_bytes())
    return out
