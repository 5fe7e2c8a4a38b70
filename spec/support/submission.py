"""How the spec reaches a submission: through one object, never by importing it.

`Submission` hands the tests the submission's modules (`sub.Layers.Dropout.Dropout(0.5)`).
Every object the submission creates stays behind a `Ref`; every value that comes back is
plain data (NumPy arrays, numbers, strings, and tuples/lists/dicts of them), copied, so a test
never shares memory with student code. Arguments cross the other way the same way: plain
data is copied in, a `Ref` is unwrapped.

The transport is a backend. `InProcess` runs the submission in this process (fast feedback
for `pytest -n auto`); the graders swap in a backend that keeps the submission in a child
process. Tests cannot tell the difference, which is the point.
"""

from __future__ import annotations

import atexit
import importlib
import random
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from spec.support import layout

SPEC_DIR = Path(__file__).resolve().parents[1]
REFERENCE_DIR = SPEC_DIR.parent / "solution"
REFERENCE_PACKAGE = "dl_reference"  # the harness's own solution, loaded beside the submission


class MissingPart(AssertionError, AttributeError):
    """A file the contract asks for is not in the submission."""


class SubmissionImportError(AssertionError):
    """A file of the submission is there but cannot be imported."""


# -- crossing the boundary -------------------------------------------------------------------

PLAIN_SCALARS = (type(None), bool, int, float, str)


def is_plain(value: Any) -> bool:
    if isinstance(value, (*PLAIN_SCALARS, np.generic)):
        return not isinstance(value, np.object_)
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "biuf"
    if isinstance(value, (tuple, list)):
        return all(is_plain(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_plain(v) for k, v in value.items())
    return False


def copy_plain(value: Any) -> Any:
    """A deep copy of plain data, with NumPy scalars turned into Python numbers."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, list)):
        return type(value)(copy_plain(item) for item in value)
    if isinstance(value, dict):
        return {k: copy_plain(v) for k, v in value.items()}
    return value


class Ref:
    """A handle on an object that lives in the submission.

    Attribute access, calls, `len` and indexing are forwarded to the backend; what comes
    back is plain data or another `Ref`.
    """

    __slots__ = ("_backend", "_handle", "_label")

    def __init__(self, backend: Any, handle: Any, label: str) -> None:
        object.__setattr__(self, "_backend", backend)
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "_label", label)

    def __getattr__(self, name: str) -> Any:
        __tracebackhide__ = True
        return self._backend.getattr(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        __tracebackhide__ = True
        self._backend.setattr(self, name, value)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        return self._backend.call(self, args, kwargs)

    def __len__(self) -> int:
        __tracebackhide__ = True
        return self._backend.len(self)

    def __getitem__(self, key: Any) -> Any:
        __tracebackhide__ = True
        return self._backend.getitem(self, key)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __repr__(self) -> str:
        return f"<submission object {self._label}>"

    # Refs are not data: refuse the conversions that would silently compare handles.
    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise TypeError(f"{self._label} is an object, not an array")

    def __bool__(self) -> bool:
        raise TypeError(f"{self._label} is an object, not a truth value")

    def __eq__(self, other: object) -> bool:
        raise TypeError(f"{self._label} is an object: compare values read from it instead")

    __hash__ = None  # type: ignore[assignment]


class Namespace:
    """A folder of the submission (`sub.Layers`): attribute access imports the module file."""

    def __init__(self, submission: Submission, dotted: str) -> None:
        self._submission = submission
        self._dotted = dotted

    def __getattr__(self, name: str) -> Any:
        __tracebackhide__ = True
        if name.startswith("_"):
            raise AttributeError(name)
        return self._submission.module(f"{self._dotted}.{name}")

    def __repr__(self) -> str:
        return f"<submission folder {self._dotted}>"


class Submission:
    """What a test sees: the submission's folders and modules, plus a few services."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend

    def __getattr__(self, name: str) -> Any:
        __tracebackhide__ = True
        if name.startswith("_"):
            raise AttributeError(name)
        return self.module(name)

    def module(self, dotted: str) -> Any:
        """`Layers.Dropout` -> the module (a Ref); `Layers` -> a Namespace."""
        __tracebackhide__ = True
        kind = self._backend.kind(dotted)
        if kind == "package":
            return Namespace(self, dotted)
        if kind == "missing":
            raise MissingPart(f"{layout.path_of(dotted)} is missing from the submission")
        return self._backend.module(dotted)

    def has(self, dotted: str) -> bool:
        return self._backend.kind(dotted) != "missing"

    @property
    def reference(self) -> Any:
        """The harness's own solution, loaded beside the submission (for tests of one class
        that need correct neighbours, e.g. NeuralNetwork with known-good layers)."""
        return Namespace(self, REFERENCE_PACKAGE)

    @property
    def probes(self) -> Any:
        """spec/probes.py loaded beside the submission: objects the spec hands to it."""
        return self._backend.module("spec.probes")

    def seed(self, value: int) -> None:
        self._backend.seed(value)

    def type_name(self, value: Any) -> str:
        """The class name of an object of the submission; for plain data read from it (None, a
        number, an array), the name of that: what a test says it got instead."""
        if isinstance(value, Ref):
            return self._backend.type_name(value)
        return "None" if value is None else type(value).__name__

    def same(self, a: Any, b: Any) -> bool:
        """Whether a and b are one object of the submission. Plain data is copied when it is
        read, so it is never the same object as anything (an attribute left None is not the
        optimizer that was set)."""
        return isinstance(a, Ref) and isinstance(b, Ref) and self._backend.same(a, b)

    def scratch(self, name: str) -> str:
        """A path where the submission may write a file (e.g. a pickled network)."""
        return self._backend.scratch(name)


# -- the in-process backend -------------------------------------------------------------------


class InProcess:
    """Runs the submission in this process. Fast; trusts the submission not to misbehave."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.scratch_dir: Path | None = None
        layout.restore_numpy_aliases()
        for path in layout.import_roots(folder):
            if str(path) not in sys.path:
                sys.path.insert(0, str(path))
        layout.install_prefix_alias()
        layout.load_as_package(REFERENCE_PACKAGE, REFERENCE_DIR)

    # modules
    def kind(self, dotted: str) -> str:
        if dotted == REFERENCE_PACKAGE or dotted.startswith(REFERENCE_PACKAGE + "."):
            return layout.kind_of(REFERENCE_DIR, dotted.split(".", 1)[1] if "." in dotted else "")
        return layout.kind_of(self.folder, dotted)

    def module(self, dotted: str) -> Ref:
        __tracebackhide__ = True
        try:
            if not dotted.startswith((REFERENCE_PACKAGE, "spec.")):
                layout.import_parent_package(self.folder, dotted)
            module = importlib.import_module(dotted)
        except MissingPart:
            raise
        except BaseException as error:  # SyntaxError, NameError, SystemExit, ... from student code
            raise SubmissionImportError(
                f"{layout.path_of(dotted)} cannot be imported: {type(error).__name__}: {error}"
            ) from error
        return Ref(self, module, dotted)

    # objects
    def wrap(self, value: Any, label: str) -> Any:
        return copy_plain(value) if is_plain(value) else Ref(self, value, label)

    def unwrap(self, value: Any) -> Any:
        if isinstance(value, Ref):
            return value._handle
        if isinstance(value, (tuple, list)):
            return type(value)(self.unwrap(item) for item in value)
        if isinstance(value, dict):
            return {k: self.unwrap(v) for k, v in value.items()}
        if is_plain(value):
            return copy_plain(value)
        raise TypeError(
            f"the spec may hand the submission only plain data or its own objects, "
            f"not {type(value).__name__}"
        )

    def getattr(self, ref: Ref, name: str) -> Any:
        __tracebackhide__ = True
        return self.wrap(getattr(ref._handle, name), f"{ref._label}.{name}")

    def setattr(self, ref: Ref, name: str, value: Any) -> None:
        __tracebackhide__ = True
        setattr(ref._handle, name, self.unwrap(value))

    def call(self, ref: Ref, args: tuple, kwargs: dict) -> Any:
        __tracebackhide__ = True
        result = ref._handle(*self.unwrap(args), **self.unwrap(kwargs))
        return self.wrap(result, f"{ref._label}(...)")

    def len(self, ref: Ref) -> int:
        __tracebackhide__ = True
        return len(ref._handle)

    def getitem(self, ref: Ref, key: Any) -> Any:
        __tracebackhide__ = True
        return self.wrap(ref._handle[self.unwrap(key)], f"{ref._label}[{key!r}]")

    # services
    def seed(self, value: int) -> None:
        np.random.seed(value)
        random.seed(value)

    def type_name(self, ref: Ref) -> str:
        return type(ref._handle).__name__

    def same(self, a: Ref, b: Ref) -> bool:
        return a._handle is b._handle

    def scratch(self, name: str) -> str:
        if self.scratch_dir is None:
            self.scratch_dir = Path(tempfile.mkdtemp(prefix="dl-scratch-"))
            atexit.register(shutil.rmtree, self.scratch_dir, ignore_errors=True)
        return str(self.scratch_dir / name)


def open_in_process(folder: str | Path) -> Submission:
    return Submission(InProcess(layout.arranged(Path(folder))))


__all__ = [
    "MissingPart",
    "Namespace",
    "Ref",
    "Submission",
    "SubmissionImportError",
    "open_in_process",
]
