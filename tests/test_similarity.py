"""Similarity across a class (`batch --similarity`): copied code is flagged through renamed
variables and new comments; code in the reference solution and the course's files match
nothing, so students who build on the same given code are not flagged.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from graders import similarity
from tests.mutants import copy_of_solution

pytest.importorskip("copydetect")

ALICE = """\
import numpy as np
from Layers.Base import BaseLayer


class Dropout(BaseLayer):
    def __init__(self, probability):
        super().__init__()
        self.keep_probability = probability
        self.cached_mask = None

    def forward(self, input_tensor):
        if not self.testing_phase:
            random_values = np.random.uniform(0.0, 1.0, size=input_tensor.shape)
            self.cached_mask = (random_values < self.keep_probability).astype(float)
            scaled = np.multiply(input_tensor, self.cached_mask)
            return np.divide(scaled, self.keep_probability)
        return input_tensor

    def backward(self, error_tensor):
        if not self.testing_phase:
            scaled = np.multiply(error_tensor, self.cached_mask)
            return np.divide(scaled, self.keep_probability)
        return error_tensor
"""
RENAMED = {"keep_probability": "p_keep", "cached_mask": "m", "random_values": "r", "scaled": "o"}
CAROL = """\
import numpy as np
from .Base import BaseLayer


class Dropout(BaseLayer):
    def __init__(self, probability):
        BaseLayer.__init__(self)
        self.p = probability

    def forward(self, x):
        if self.testing_phase:
            return x
        self.drop = np.random.binomial(1, self.p, x.shape) / self.p
        return x * self.drop

    def backward(self, e):
        return e if self.testing_phase else e * self.drop
"""
COURSE_FILE = "def course_helper(layers):\n" + "".join(
    f"    total_{k} = sum(layer.weights.size * {k} for layer in layers)\n" for k in range(30)
)


def student(folder: Path, dropout: str | None = None) -> Path:
    solution = copy_of_solution(folder)
    if dropout is not None:
        (solution / "Layers" / "Dropout.py").write_text(dropout)
    # The course's files, the same for everyone: never evidence of copying.
    (solution / "Layers" / "Helpers.py").write_text(COURSE_FILE)
    (solution / "NeuralNetworkTests.py").write_text(COURSE_FILE)
    return solution


def flat_zip(solution: Path, path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(solution.rglob("*.py")):
            if file.name != "__init__.py":
                archive.write(file, file.name)
    return path


def test_copied_code_is_flagged_and_given_code_is_not(tmp_path):
    bob = ALICE
    for old, new in RENAMED.items():
        bob = bob.replace(old, new)
    bob = bob.replace("    def forward", "    # my own forward pass\n    def forward")
    submissions = {
        "alice": student(tmp_path / "alice", ALICE),
        "bob": flat_zip(student(tmp_path / "b", bob), tmp_path / "bob.zip"),
        "carol": student(tmp_path / "carol", CAROL),
        "ref": student(tmp_path / "ref"),
        "ref_too": student(tmp_path / "ref_too"),
        "broken": tmp_path / "broken.zip",
    }
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    found = similarity.compare(submissions)
    assert [(p.first, p.second, p.files) for p in found.pairs] == [
        ("alice", "bob", ("Layers/Dropout.py",))
    ]
    pair = found.pairs[0]
    assert pair.first_share == pair.second_share == 1.0 and pair.shared > 200
    assert found.compared == 5 and list(found.skipped) == ["broken"]
    everyone = similarity.compare(submissions, threshold=0.0)  # every pair, however little
    shares = {(p.first, p.second): max(p.first_share, p.second_share) for p in everyone.pairs}
    assert shares[("ref", "ref_too")] == 0.0  # the reference and the course's files: boilerplate
    assert shares[("alice", "carol")] < 0.1
