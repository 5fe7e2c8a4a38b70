"""Every job of the project is a nox session: `nox -s grade`, `nox -s tests`, ..."""

from pathlib import Path

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True
nox.options.default_venv_backend = "venv"


@nox.session
def tests(session: nox.Session) -> None:
    """The spec against the bundled solution, and the harness's own tests."""
    # The training script's tests and the class summary plot with matplotlib; the similarity
    # tests need copydetect.
    session.install("-e", ".[train,similarity]")
    session.run("pytest", "-n", "auto", *session.posargs)


@nox.session
def grade(session: nox.Session) -> None:
    """Grade the bundled solution, or a submission: `nox -s grade -- PATH` (folder or zip)."""
    session.install("-e", ".")
    submission = session.posargs[0] if session.posargs else "solution"
    name = Path(submission).name.removesuffix(".zip")
    command = ["python", "-m", "graders", "grade", *(session.posargs or ["solution"])]
    session.run(*command, "--out", f"reports/{name}")


@nox.session
def autograder(session: nox.Session) -> None:
    """Gradescope's autograder.zip: `nox -s autograder [-- --rubric FILE --out PATH]`. The zip
    pins the dependencies at the versions this session installs."""
    session.install("-e", ".")
    session.run("python", "-m", "graders", "gradescope", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff's checks and its formatting, over everything we wrote (configured in pyproject)."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy on graders/ and scripts/: strict for the graders, lighter for the scripts."""
    session.install("-e", ".", "mypy")
    session.run("mypy", *session.posargs)


@nox.session
def coverage(session: nox.Session) -> None:
    """Line and branch coverage of graders/, scripts/ and solution/ under the whole test suite,
    subprocesses included; fails under 90 %."""
    session.install("-e", ".[train,similarity]", "coverage[toml]>=7.10")
    session.run("coverage", "erase")
    session.run("coverage", "run", "-m", "pytest", "-n", "auto", *session.posargs)
    session.run("coverage", "combine")
    session.run("coverage", "report")


@nox.session
def train(session: nox.Session) -> None:
    """Train LeNet: `nox -s train -- --test-dir MNIST_DIR` (flags: train_lenet.py -h)."""
    session.install("-e", ".[train]")
    session.run("python", "scripts/train_lenet.py", *session.posargs)


@nox.session
def train_rnn(session: nox.Session) -> None:
    """Train the LSTM or the RNN on the sunspot numbers: `nox -s train_rnn -- --model rnn`
    (flags: train_rnn.py -h)."""
    session.install("-e", ".[train]")
    session.run("python", "scripts/train_rnn.py", *session.posargs)
