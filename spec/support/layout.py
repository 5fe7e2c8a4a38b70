"""Where a submission's files belong, and how to make every import style of theirs work.

Students hand in folders in many shapes (the whole tree under `src_to_implement/`, `Loss.py`
under `Layers/`, a flat zip with no folders, no `__init__.py`), often with more than their
solution beside it: the course's tests, notebooks, a committed virtualenv. `arrange_into` copies
what is graded into the contract's layout, and nothing else:

- the contract's modules (`CANONICAL`) and the packages' `__init__.py`, each located by its file
  name as the course's packaging script does (when a name occurs twice, the one nearest the top
  wins);
- the student's own modules that these import, transitively, found by reading their import
  statements in every style the contract lists (`from Layers.util import x`, `from .util import
  x`, `import util`, `from src_to_implement.Layers.util import x`); each is placed where that
  import finds it in the arranged folder;
- the course files a student need not hand in (`SUPPLIED`, `SUPPLIED_FROM_HARNESS`).

Which imported module is the student's own: a module of the standard library, or NumPy, is
never taken from a submission, even if a file of that name sits beside the importing module (the
harness and the submission run on the real ones; a `logging.py` copied beside `NeuralNetwork.py`
would break SciPy). A student's module named like a package installed in the grading
environment (SciPy, matplotlib, ...) is taken only where the import itself finds it, beside the
importing module or in a folder above it, as on the student's machine; never a file of that
name found elsewhere in the tree. Every other module is looked for there first, then by its
name anywhere in the tree (a flat zip has no folders). Nothing is ever
taken from an interpreter's environment (`site-packages`, a folder with `pyvenv.cfg`), from
hidden folders, or named `conftest.py` or `sitecustomize.py`; only `.py` files are copied.
"""

from __future__ import annotations

import ast
import atexit
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import shutil
import sys
import sysconfig
import tempfile
import types
from functools import cache
from pathlib import Path, PurePosixPath

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

# The folders of the arranged layout that go on sys.path, in that order.
TOP = PurePosixPath(".")
ROOTS = (*(PurePosixPath(package) for package in PACKAGES), TOP)

# Never looked into (nor any hidden folder): caches, archivers' debris, interpreters' environments.
IGNORED_FOLDERS = {"__pycache__", "__MACOSX", "venv", "site-packages", "dist-packages"}
ENVIRONMENT_MARKERS = ("pyvenv.cfg", "conda-meta")  # a folder holding one is an environment
# Run by their name alone (by pytest, by the interpreter at start-up): never copied.
NEVER_COPIED = {"conftest", "sitecustomize", "usercustomize", "__main__"}


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


# -- which names belong to the environment -----------------------------------------------------


@cache
def protected(name: str) -> bool:
    """A top-level name the submission may never provide: the standard library's and NumPy's."""
    return name in sys.stdlib_module_names or name in NEVER_COPIED or name == "numpy"


@cache
def installed(name: str) -> bool:
    """A top-level module of the grading environment (protected, or a package in site-packages)."""
    if protected(name):
        return True
    paths = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
    return importlib.machinery.PathFinder.find_spec(name, sorted(paths)) is not None


# -- the files of a submission -----------------------------------------------------------------


def python_files(folder: Path) -> list[Path]:
    """The .py files of a submission, outside ignored folders and interpreters' environments."""
    found = []
    for parent, folders, files in os.walk(folder):
        here = Path(parent)
        folders[:] = sorted(
            name
            for name in folders
            if not name.startswith(".")
            and name not in IGNORED_FOLDERS
            and not any((here / name / marker).exists() for marker in ENVIRONMENT_MARKERS)
        )
        found += [
            here / name for name in files if name.endswith(".py") and not name.startswith("._")
        ]
    return sorted(found)


def contract_place(path: Path) -> str | None:
    """The place of a contract file (a module named in CANONICAL, a package's `__init__.py`)."""
    if path.stem in CANONICAL:
        return CANONICAL[path.stem]
    if path.name == "__init__.py" and path.parent.name in PACKAGES:
        return f"{path.parent.name}/__init__.py"
    return None


def place_of(path: Path, root: Path) -> str:
    """Where a handed-in file shows in the contract's layout: a contract file at its place,
    any other beside its package or at the top (the intake's account of what was handed in)."""
    if place := contract_place(path):
        return place
    if path.parent.name in PACKAGES:
        return f"{path.parent.name}/{path.name}"
    return path.name


def shadows_the_environment(place: PurePosixPath) -> bool:
    """Whether a file at `place` would provide a protected top-level name: every folder of ROOTS
    is on sys.path, so `Layers/json.py` is `json` as much as `json.py` is."""
    tops = [place.relative_to(root).parts[0] for root in ROOTS if place.is_relative_to(root)]
    return place.stem in NEVER_COPIED or any(protected(top.removesuffix(".py")) for top in tops)


# -- the student's own modules, found through their import statements --------------------------


def imported_names(path: Path) -> list[tuple[int, tuple[str, ...], bool]]:
    """(level, dotted parts, whether to look for it by name too) of every module an import
    statement of `path` may load: `import a.b`, `from .a import b`, and for `from a import b`
    a and a.b in case b is a module. The latter is looked for by name only where b can be a
    module (`from . import b`, `from Layers import b`): elsewhere b is usually a class.
    Imports anywhere in the file count (in functions, under try)."""
    try:
        tree = ast.parse(path.read_bytes())
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []  # it fails its own import, which says why
    found: list[tuple[int, tuple[str, ...], bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(0, tuple(alias.name.split(".")), True) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = tuple(node.module.split(".")) if node.module else ()
            if module:
                found.append((node.level, module, True))
            modules = not module or module[-1] in (*PACKAGES, PREFIX)
            found += [(node.level, (*module, a.name), modules) for a in node.names if a.name != "*"]
    return found


class Tree:
    """The .py files of a submission, to look modules up in."""

    def __init__(self, source: Path) -> None:
        self.source = source
        # Shallow files first: when a name occurs twice, the one nearest the top wins.
        self.files = sorted(python_files(source), key=lambda p: (len(p.parts), str(p)))
        self.known = set(self.files)

    def in_folder(self, folder: Path, parts: tuple[str, ...]) -> Path | None:
        """The module `parts` under `folder`, as the import system finds it there."""
        if not folder.is_relative_to(self.source):
            return None
        base = folder.joinpath(*parts)
        for candidate in (base.with_name(base.name + ".py"), base / "__init__.py"):
            if candidate in self.known:
                return candidate
        return None

    def by_name(self, name: str) -> Path | None:
        """The module of that name nearest the top, wherever it is (flat zips, odd folders)."""
        for path in self.files:
            if path.stem == name or (path.name == "__init__.py" and path.parent.name == name):
                return path
        return None


def resolve(
    tree: Tree,
    importer: Path,
    place: PurePosixPath,
    level: int,
    parts: tuple[str, ...],
    guess: bool,
) -> tuple[Path, PurePosixPath] | None:
    """The student's file that an import in `importer` (arranged at `place`) loads, and where
    it goes in the arranged folder; None for the contract's modules and the environment's."""
    if level == 0 and parts[:1] == (PREFIX,):
        parts = parts[1:]
    if (
        not parts
        or parts[-1] in CANONICAL
        or (level == 0 and parts[0] in PACKAGES and len(parts) == 1)
    ):
        return None  # a contract module or package: placed by its name
    if level == 0:
        if protected(parts[0]):
            return None
        # Where Python finds it on the student's machine: beside the importer, or in a folder
        # above it (the one they ran from); in the arranged folder, beside the importer when
        # that is on sys.path, else at the top.
        found = next(filter(None, (tree.in_folder(f, parts) for f in importer.parents)), None)
        if found is None and guess and not installed(parts[0]):
            found = tree.by_name(parts[-1])
        anchor = place.parent if place.parent in ROOTS and parts[0] not in PACKAGES else TOP
    else:
        if level - 1 > len(place.parent.parts):
            return None  # above the top: the import fails on its own
        anchor, folder = place.parent, importer.parent
        for _ in range(level - 1):
            anchor, folder = anchor.parent, folder.parent
        found = tree.in_folder(folder, parts) or (tree.by_name(parts[-1]) if guess else None)
    if found is None:
        return None
    target = anchor.joinpath(*parts)
    if found.name == "__init__.py":
        return found, target / "__init__.py"
    return found, target.with_suffix(".py")


def with_packages(tree: Tree, file: Path, target: PurePosixPath):
    """A helper module, and the `__init__.py` of each helper package that holds it (the
    contract's package folders have their own)."""
    yield file, target
    folder, place = file.parent, target.parent
    if file.name == "__init__.py":
        folder, place = folder.parent, place.parent
    while place not in ROOTS and folder.name == place.name and folder / "__init__.py" in tree.known:
        yield folder / "__init__.py", place / "__init__.py"
        folder, place = folder.parent, place.parent


def to_copy(source: Path) -> dict[str, Path]:
    """Place in the arranged folder -> the submission's file: the contract's files and,
    transitively, the student's modules they import."""
    tree = Tree(source)
    plan: dict[PurePosixPath, Path] = {}
    for path in tree.files:
        if (place := contract_place(path)) is not None:
            plan.setdefault(PurePosixPath(place), path)
    todo = list(plan.items())
    while todo:
        place, path = todo.pop()
        for level, parts, guess in imported_names(path):
            found = resolve(tree, path, place, level, parts, guess)
            for file, target in with_packages(tree, *found) if found else ():
                if target not in plan and not shadows_the_environment(target):
                    plan[target] = file
                    todo.append((target, file))
    return {place.as_posix(): path for place, path in sorted(plan.items())}


# -- arranging a folder into the contract's layout --------------------------------------------


def arrange_into(source: Path, target: Path) -> Path:
    """Copy what is graded of `source` (see the module's docstring) into `target`."""
    for place, path in to_copy(source).items():
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
    """A fresh arranged copy of a solution folder, removed at exit; always a copy, so that every
    way of running the spec grades the same files."""
    folder = folder.resolve()
    if not folder.is_dir():
        raise FileNotFoundError(f"solution folder {folder} does not exist")
    scratch = Path(tempfile.mkdtemp(prefix="dl-submission-"))
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    return arrange_into(folder, scratch / "submission")  # a fixed name: coverage maps it back


# -- making the import styles of real submissions work -----------------------------------------


def import_roots(folder: Path) -> list[Path]:
    """`from Layers.Base import ...` needs the top; `from Base import ...` needs the package."""
    return [folder / root for root in ROOTS]


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
