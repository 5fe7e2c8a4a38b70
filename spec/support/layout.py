"""Where a submission's files belong, and how to make every import style of theirs work.

Students hand in folders in many shapes (the whole tree under `src_to_implement/`, `Loss.py`
under `Layers/`, a flat zip with no folders, no `__init__.py`). The course's packaging script
locates each file by its name; so do we: `arranged` copies a submission into the contract's
layout when it is not already in it, and supplies the files a student need not hand in.
"""

from __future__ import annotations

import atexit
import importlib
import importlib.abc
import importlib.util
import shutil
import sys
import tempfile
import types
from pathlib import Path

import numpy as np

HARNESS_SOLUTION = Path(__file__).resolve().parents[2] / "solution"

PACKAGES = {
    "Layers": [
        "Base",
        "FullyConnected",
        "ReLU",
        "SoftMax",
        "TanH",
        "Sigmoid",
        "Conv",
        "Pooling",
        "Flatten",
        "Initializers",
        "Dropout",
        "BatchNormalization",
        "RNN",
        "LSTM",
        "Helpers",
    ],
    "Optimization": ["Constraints", "Loss", "Optimizers"],
    "Models": ["LeNet"],
}
TOP_LEVEL = ["NeuralNetwork"]

# module name -> its place in the contract's layout
CANONICAL = {name: f"{package}/{name}.py" for package, names in PACKAGES.items() for name in names}
CANONICAL.update({name: f"{name}.py" for name in TOP_LEVEL})

# Supplied by the harness when missing: course code, not graded.
SUPPLIED = {
    "Layers/__init__.py": f"__all__ = {PACKAGES['Layers']!r}\n",
    "Optimization/__init__.py": f"__all__ = {PACKAGES['Optimization']!r}\n",
    "Models/__init__.py": f"__all__ = {PACKAGES['Models']!r}\n",
}
SUPPLIED_FROM_HARNESS = ["Layers/Helpers.py"]

PREFIX = "src_to_implement"  # real submissions import `src_to_implement.Layers.Base`
IGNORED_PARTS = {"__pycache__", "__MACOSX", ".git", ".idea", ".vscode", "venv", ".venv"}


def path_of(dotted: str) -> str:
    return dotted.replace(".", "/") + ".py"


def kind_of(folder: Path, dotted: str) -> str:
    """'module', 'package' or 'missing' for a dotted name inside a solution folder."""
    if dotted == "spec.probes":
        return "module"
    relative = Path(*dotted.split(".")) if dotted else Path()
    if (folder / relative).with_suffix(".py").is_file():
        return "module"
    if (folder / relative).is_dir():
        return "package"
    return "missing"


# -- arranging a folder into the contract's layout --------------------------------------------


def python_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*.py")
        if not IGNORED_PARTS.intersection(p.relative_to(folder).parts)
        and not p.name.startswith("._")
    )


def is_arranged(folder: Path) -> bool:
    for path in python_files(folder):
        wanted = CANONICAL.get(path.stem)
        if wanted and path.relative_to(folder).as_posix() != wanted:
            return False
    needed = [*SUPPLIED, *SUPPLIED_FROM_HARNESS, "NeuralNetwork.py"]
    return all((folder / name).is_file() for name in needed if not name.startswith("Models"))


def place_of(path: Path, root: Path) -> str:
    """Where a file goes: known modules by name, others beside their package or at the top."""
    if path.stem in CANONICAL:
        return CANONICAL[path.stem]
    if path.parent.name in PACKAGES:
        return f"{path.parent.name}/{path.name}"
    return path.name


def arrange_into(source: Path, target: Path) -> Path:
    """Copy the .py files of `source` into the contract's layout under `target`."""
    placed: dict[str, Path] = {}
    # Shallow files first: when a name occurs twice, the one nearest the top wins.
    for path in sorted(python_files(source), key=lambda p: (len(p.parts), str(p))):
        placed.setdefault(place_of(path, source), path)
    for place, path in placed.items():
        (target / place).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / place)
    for place, text in SUPPLIED.items():
        (target / place).parent.mkdir(parents=True, exist_ok=True)
        if not (target / place).exists():
            (target / place).write_text(text)
    for place in SUPPLIED_FROM_HARNESS:
        if not (target / place).exists():
            shutil.copyfile(HARNESS_SOLUTION / place, target / place)
    return target


def arranged(folder: Path) -> Path:
    """The folder itself when it is in the contract's layout, otherwise an arranged copy."""
    folder = folder.resolve()
    if not folder.is_dir():
        raise FileNotFoundError(f"solution folder {folder} does not exist")
    if is_arranged(folder):
        return folder
    target = Path(tempfile.mkdtemp(prefix="dl-submission-"))
    atexit.register(shutil.rmtree, target, ignore_errors=True)
    return arrange_into(folder, target)


# -- making the import styles of real submissions work -----------------------------------------


def import_roots(folder: Path) -> list[Path]:
    """`from Layers.Base import ...` needs the top; `from Base import ...` needs the package."""
    return [folder / package for package in PACKAGES] + [folder]


def restore_numpy_aliases() -> None:
    """Code written for older NumPy uses np.float, np.int, ...; NumPy 1.24 removed them."""
    for name, value in {
        "float": float,
        "int": int,
        "bool": bool,
        "object": object,
        "complex": complex,
        "str": str,
    }.items():
        if name not in np.__dict__:
            setattr(np, name, value)


class PrefixAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Makes `src_to_implement.X` the very same module object as `X`."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == PREFIX or fullname.startswith(PREFIX + "."):
            return importlib.util.spec_from_loader(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        if spec.name == PREFIX:
            module = types.ModuleType(PREFIX)
            module.__path__ = []
            return module
        return importlib.import_module(spec.name[len(PREFIX) + 1 :])

    def exec_module(self, module):
        pass


def install_prefix_alias() -> None:
    if not any(isinstance(finder, PrefixAlias) for finder in sys.meta_path):
        sys.meta_path.append(PrefixAlias())


def import_parent_package(folder: Path, dotted: str) -> None:
    """Import `Layers` before `Layers.Dropout`; a broken `__init__.py` is replaced by an empty
    package, because the contract imports each module by its dotted name, not through it."""
    package = dotted.rpartition(".")[0]
    if not package or package in sys.modules:
        return
    try:
        importlib.import_module(package)
    except Exception:
        empty = types.ModuleType(package)
        empty.__path__ = [str(folder / Path(*package.split(".")))]
        sys.modules[package] = empty


def load_as_package(name: str, folder: Path) -> None:
    """Load a solution folder as the package `name`, so that its modules (which import their
    siblings relatively) live beside a submission's without clashing with its names."""
    if name not in sys.modules:
        package = types.ModuleType(name)
        package.__path__ = [str(folder)]
        sys.modules[name] = package
