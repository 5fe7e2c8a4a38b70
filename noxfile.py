"""Every job of the project is a nox session: `nox -s grade`, `nox -s tests`, ..."""

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True
nox.options.default_venv_backend = "venv"


@nox.session
def tests(session: nox.Session) -> None:
    """The spec against the bundled solution, and the harness's own tests."""
    session.install("-e", ".")
    session.run("pytest", "-n", "auto", *session.posargs)
