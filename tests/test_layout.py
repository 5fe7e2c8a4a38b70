"""Arranging a submission (spec/support/layout.py): the contract's modules and the student's own
modules they import, nothing else, and the same files whichever way the spec runs.

The submission of the first tests is modelled on real ones: the reference solution under
`src_to_implement/`, with helper modules imported in every style the contract lists, next to
two committed virtualenvs (one under the usual name, one not) whose copies of standard-library
modules raise on import, the course's tests, a conftest.py, caches and notebooks. Copied beside
NeuralNetwork.py, the virtualenv's `colorsys.py` or `logging.py` would shadow the real ones.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from graders import intake
from spec.support import layout
from tests.mutants import copy_of_solution, edit
from tests.test_conventions import graded, run_spec
from tests.test_graders import earned

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solution"
RAISES = "raise RuntimeError('{name} of a committed virtualenv was imported')\n"

# The student's helpers: place in the tree -> text. One per import style of the contract,
# one imported by another helper (transitively), and a helper package.
HELPERS = {
    "Layers/tanh_util.py": "import numpy as np\n\nfrom .maths import one\n\n\n"
    "def tanh(x):\n    return one() * np.tanh(x)\n",
    "Layers/maths.py": "def one():\n    return 1.0\n",
    "Layers/sigmoid_util.py": "import numpy as np\n\n\ndef sigmoid(x):\n"
    "    return 1.0 / (1.0 + np.exp(-x))\n",
    "dropout_util.py": "import numpy as np\n\n\ndef keep_mask(shape, probability):\n"
    "    return np.random.rand(*shape) < probability\n",
    "Layers/relu_util.py": "def positive(x):\n    return x > 0\n",
    "Layers/shapes/__init__.py": "from .sizes import output_size\n",
    "Layers/shapes/sizes.py": "import math\n\n\ndef output_size(size, stride):\n"
    "    return math.ceil(size / stride)\n",
}
# (file, find, replace): the solution's layers using them
BASE = "from .Base import BaseLayer"
USES = [
    ("Layers/TanH.py", BASE, f"import colorsys  # noqa: F401\n{BASE}"),
    ("Layers/TanH.py", BASE, f"from Layers.tanh_util import tanh\n{BASE}"),
    ("Layers/TanH.py", "np.tanh(input_tensor)", "tanh(input_tensor)"),
    ("Layers/Sigmoid.py", BASE, f"{BASE}\nfrom .sigmoid_util import sigmoid"),
    ("Layers/Sigmoid.py", "1.0 / (1.0 + np.exp(-input_tensor))", "sigmoid(input_tensor)"),
    ("Layers/Dropout.py", BASE, f"import dropout_util\n{BASE}"),
    (
        "Layers/Dropout.py",
        "np.random.rand(*input_tensor.shape) < self.probability",
        "dropout_util.keep_mask(input_tensor.shape, self.probability)",
    ),
    ("Layers/ReLU.py", BASE, f"from src_to_implement.Layers.relu_util import positive\n{BASE}"),
    ("Layers/ReLU.py", "input_tensor > 0", "positive(input_tensor)"),
    ("Layers/Conv.py", BASE, f"import scipy.signal  # noqa: F401\n{BASE}"),
    ("Layers/Conv.py", BASE, f"from Layers.shapes import output_size\n{BASE}"),
]
SHADOWING = ["logging", "json", "subprocess", "colorsys", "copy", "pickle", "math"]
GRADED = {
    *(place for place in HELPERS if place.startswith("Layers/")),
    "Layers/dropout_util.py",  # `import dropout_util` in Layers/Dropout.py: placed beside it
}


def committed_virtualenvs(student: Path) -> None:
    """`venv/` as `python -m venv` makes it, and `myenv/`, a copy of an interpreter's library
    without the marker files: hundreds of modules in a real one, a few that raise here."""
    site = student / "venv" / "lib" / "python3.11" / "site-packages"
    (student / "venv").mkdir()
    (student / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    library = student / "myenv" / "lib" / "python3.11"
    for folder in (site, library, library / "site-packages" / "scipy"):
        folder.mkdir(parents=True, exist_ok=True)
    for name in SHADOWING:
        for folder in (site, library, student / "myenv"):
            (folder / f"{name}.py").write_text(RAISES.format(name=name))
    (library / "site-packages" / "scipy" / "__init__.py").write_text(RAISES.format(name="scipy"))
    (site / "Base.py").write_text(RAISES.format(name="Base"))  # a contract name, never taken


def junk(student: Path, tree: Path) -> None:
    """What else real submissions hold: the course's tests, pytest's and Python's hooks, caches."""
    for folder in (student, tree, tree / "Layers"):
        (folder / "conftest.py").write_text(RAISES.format(name="conftest"))
        (folder / "sitecustomize.py").write_text(RAISES.format(name="sitecustomize"))
    (tree / "__pycache__").mkdir()
    (tree / "__pycache__" / "Base.cpython-311.py").write_text(RAISES.format(name="cache"))
    (tree / "tests").mkdir()
    (tree / "tests" / "NeuralNetworkTests.py").write_text("import unittest\nimport logging\n")
    (tree / "evil.pth").write_text("import sys; sys.exit(3)\n")
    (tree / "pytest.ini").write_text("[pytest]\naddopts = -x\n")
    (tree / "train.ipynb").write_text("{}\n")


def student_with_virtualenvs(folder: Path) -> Path:
    folder.mkdir()
    tree = copy_of_solution(folder / "src_to_implement")
    for place, text in HELPERS.items():
        (tree / place).parent.mkdir(parents=True, exist_ok=True)
        (tree / place).write_text(text)
    for file, find, replacement in USES:
        edit(tree / file, find, replacement)
    committed_virtualenvs(folder)
    junk(folder, tree)
    return folder


@pytest.fixture(scope="module")
def student(tmp_path_factory) -> Path:
    return student_with_virtualenvs(tmp_path_factory.mktemp("layout") / "student")


def contract_files() -> set[str]:
    return {path.relative_to(SOLUTION).as_posix() for path in SOLUTION.rglob("*.py")}


# -- what is copied ---------------------------------------------------------------------------


def test_only_the_contract_and_the_helpers_it_imports_are_copied(student):
    copied = layout.to_copy(student)
    assert set(copied) == contract_files() | GRADED
    assert all("src_to_implement" in path.parts for path in copied.values())


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


def test_arranged_is_always_a_fresh_copy(student):
    """Even of a folder in the contract's layout already (the bundled solution, an arranged
    folder): the spec runs only on files it arranged itself."""
    copy = layout.arranged(SOLUTION)
    assert copy != SOLUTION
    assert files_of(copy) == {place: (SOLUTION / place).read_bytes() for place in contract_files()}
    first = layout.arranged(student)
    again = layout.arranged(first)
    assert again != first and files_of(again) == files_of(first)


def test_the_spec_and_the_graders_arrange_the_same_files(student, tmp_path):
    by_graders, notes = intake.prepare(student, tmp_path)
    assert files_of(layout.arranged(student)) == files_of(by_graders)
    assert notes == []  # every __init__.py and Helpers.py was handed in


def arrange(tmp_path: Path, files: dict[str, str]) -> set[str]:
    """The places to_copy gives a submission of these files (beside the reference's TanH and
    Base, so that there is a contract module to import them)."""
    source = tmp_path / "source"
    for place, text in files.items():
        (source / place).parent.mkdir(parents=True, exist_ok=True)
        (source / place).write_text(text)
    return set(layout.to_copy(source)) - {"Layers/Base.py", "Layers/TanH.py"}


TANH = "from .Base import BaseLayer\n{imports}\n\nclass TanH(BaseLayer):\n    pass\n"


def tanh_importing(imports: str) -> dict[str, str]:
    return {
        "Layers/Base.py": "class BaseLayer:\n    pass\n",
        "Layers/TanH.py": TANH.format(imports=imports),
    }


@pytest.mark.parametrize(
    ("imports", "helpers", "copied"),
    [
        ("from Layers.util import x", {"util.py"}, {"Layers/util.py"}),  # a flat zip
        ("from . import util", {"util.py"}, {"Layers/util.py"}),
        ("import util", {"Layers/util.py"}, {"Layers/util.py"}),
        ("import util", {"tools/util.py"}, {"Layers/util.py"}),  # found by its name
        ("from src_to_implement.Layers import util", {"util.py"}, {"Layers/util.py"}),
        ("from tools import util", {"tools/util.py"}, {"Layers/tools/util.py"}),
        (
            "from tools.util import x",
            {"tools/__init__.py", "tools/util.py"},
            {"Layers/tools/__init__.py", "Layers/tools/util.py"},
        ),
        ("from util import BaseLayerHelper", {"util.py", "BaseLayerHelper.py"}, {"Layers/util.py"}),
        ("import json", {"Layers/json.py"}, set()),  # the standard library wins
        ("from .json import x", {"Layers/json.py"}, set()),  # even for a relative import
        ("from .tools import logging", {"Layers/tools/logging.py"}, {"Layers/tools/logging.py"}),
        ("import numpy", {"Layers/numpy.py"}, set()),  # and NumPy
        ("import conftest", {"Layers/conftest.py"}, set()),
        ("import scipy", {"Layers/scipy.py"}, {"Layers/scipy.py"}),  # the student's own, beside
        ("import scipy", {"tools/scipy.py"}, set()),  # an installed name is not looked for
        ("", {"util.py", "Layers/util.py"}, set()),  # imported by nobody
    ],
)  # fmt: skip
def test_a_helper_is_copied_where_its_import_finds_it(tmp_path, imports, helpers, copied):
    files = tanh_importing(imports) | {place: "x = BaseLayerHelper = 1\n" for place in helpers}
    assert arrange(tmp_path, files) == copied


def test_a_helper_of_a_helper_is_copied_and_a_cycle_ends(tmp_path):
    files = tanh_importing("import first") | {
        "first.py": "import second\n",
        "second.py": "from first import x\nimport Layers.TanH\n",
    }
    assert arrange(tmp_path, files) == {"Layers/first.py", "Layers/second.py"}


def test_a_module_that_does_not_parse_imports_nothing(tmp_path):
    files = tanh_importing("import util") | {
        "util.py": "import other\ndef broken(:\n",
        "other.py": "",
    }
    assert arrange(tmp_path, files) == {"Layers/util.py"}


def test_folders_of_environments_are_not_looked_into(student):
    found = {path.relative_to(student).parts[0] for path in layout.python_files(student)}
    assert found == {"src_to_implement", "myenv", "conftest.py", "sitecustomize.py"}
    assert not any("site-packages" in path.parts for path in layout.python_files(student))


# -- graded with full marks, in-process and by the graders ------------------------------------

SECTIONS = ["TanH", "Sigmoid", "Dropout", "ReLU", "Conv"]


@pytest.mark.timeout(600)
def test_a_submission_with_committed_virtualenvs_passes_in_process(student):
    done = run_spec(student, *(f"spec/test_{section.lower()}.py" for section in SECTIONS))
    assert done.returncode == 0, done.stdout[-3000:]


@pytest.mark.timeout(900)
def test_a_submission_with_committed_virtualenvs_gets_full_marks_from_the_graders(
    student, tmp_path
):
    rubric = (
        "[exercise]\nTanH = 2.5\nSigmoid = 2.5\nDropout = 5\n[foundation]\nReLU = 0\nConv = 0\n"
    )
    report = graded(student, rubric, tmp_path)
    assert earned(report) == {"TanH": 2.5, "Sigmoid": 2.5, "Dropout": 5.0, "ReLU": 0.0, "Conv": 0.0}
    results = report["extra_data"]["results"]
    assert all(results[section].endswith("passed") for section in SECTIONS), results
    assert all(
        passed == total for passed, total in (results[s].split()[0].split("/") for s in SECTIONS)
    ), results
