"""Fixtures every spec module shares.

The submission under test is the fixture `sub`. Choose it with `pytest spec --solution=PATH`
(a folder or the course's flat zip, taken in as the graders take it: graders/intake.py) or the
environment variable DL_SOLUTION; the default is the harness's bundled `solution/`.
`--isolated` (or DL_ISOLATED=1) runs it in a child process the kernel confines, a fresh one per
test module, as the graders always do; without it, it runs in this process (fast, for students).
Each module marks its tests with the exercise section they belong to
(`pytestmark = pytest.mark.section("Dropout")`); graders score by that marker.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings

from graders import intake
from spec.support import calibration
from spec.support.confinement import LAYERS, Limits, policy
from spec.support.isolated import CONFINEMENT, HarnessError, Isolated
from spec.support.submission import Submission, open_in_process

BUNDLED_SOLUTION = Path(__file__).resolve().parents[1] / "solution"
SOLUTION = pytest.StashKey[Path]()  # the submission, arranged
BACKEND = pytest.StashKey[Isolated]()  # with --isolated

# A grade must be reproducible: hypothesis draws the same examples on every run.
settings.register_profile(
    "spec",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=20,
    print_blob=False,
    # No shrinking or explaining of failures: they cost a broken submission minutes, not seconds.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile("spec")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("spec", "exercise 3 acceptance tests")
    group.addoption(
        "--solution",
        metavar="PATH",
        default=os.environ.get("DL_SOLUTION") or str(BUNDLED_SOLUTION),
        help="solution folder to test (default: $DL_SOLUTION or the bundled solution/)",
    )
    group.addoption(
        "--isolated",
        action="store_true",
        default=os.environ.get("DL_ISOLATED") == "1",
        help="run the submission in a child process the kernel confines (default: "
        "$DL_ISOLATED == 1)",
    )
    group.addoption(
        "--call-timeout",
        metavar="SECONDS",
        type=float,
        default=float(os.environ.get("DL_CALL_TIMEOUT") or Limits.call_seconds),
        help="isolated: the least time limit of one call into the submission, in busy seconds "
        "(default: %(default)s)",
    )
    group.addoption(
        "--accept-missing",
        metavar="LAYER,...",
        default=os.environ.get("DL_ACCEPT_MISSING", ""),
        help="isolated: grade although these confinement layers are unavailable "
        "(namespaces, uid, landlock, seccomp, rlimits; default: $DL_ACCEPT_MISSING)",
    )
    group.addoption(
        "--record",
        metavar="PATH",
        default=None,
        help="isolated: write what each call cost (for scripts/calibrate.py) and which modules "
        "of the reference each test module handed to the submission, as JSON",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Refuse a command line that cannot work with one line, before any test runs."""
    config.addinivalue_line("markers", "section(name): the exercise section a test belongs to")
    try:
        accepted = policy.parse(config.option.accept_missing)
    except ValueError as error:
        raise pytest.UsageError(f"--accept-missing: {error}") from None
    config.stash[SOLUTION] = taken_in(config)
    if config.option.isolated and getattr(config.option, "numprocesses", None):
        # pytest-xdist's controller runs no test: it only refuses a machine that cannot confine
        try:
            policy.check(accepted, config.stash[SOLUTION])
        except policy.ConfinementMissing as missing:
            raise pytest.UsageError(str(missing)) from None
    elif config.option.isolated:
        try:
            backend = Isolated(
                config.stash[SOLUTION],
                Limits(call_seconds=config.option.call_timeout),
                accepted,
                calibration.load(),
            )
        except policy.ConfinementMissing as missing:
            raise pytest.UsageError(str(missing)) from None
        config.stash[BACKEND] = backend  # its zygote boots while pytest collects
        config.add_cleanup(backend.close)


def taken_in(config: pytest.Config) -> Path:
    """--solution as the graders take it: a folder, or a (flat) zip of one."""
    path = Path(config.option.solution).expanduser()
    if not path.exists():
        raise pytest.UsageError(f"--solution: {path} does not exist (give a folder or a .zip)")
    workdir = Path(tempfile.mkdtemp(prefix="dl-solution-"))
    config.add_cleanup(lambda: shutil.rmtree(workdir, ignore_errors=True))
    try:
        folder, _ = intake.prepare(path, workdir)
    except intake.UngradableError as problem:
        raise pytest.UsageError(f"--solution: {problem}") from None
    return folder


@pytest.fixture(scope="session")
def sub(request: pytest.FixtureRequest):
    """The submission: `sub.Layers.Dropout.Dropout(0.5)`, `sub.probes`, `sub.reference`."""
    options = request.config.option
    if not options.isolated:
        request.config.stash[CONFINEMENT] = lambda: {
            "layers": dict.fromkeys(LAYERS, False),
            "accepted_missing": [],
            "trusted": True,
        }
        yield open_in_process(request.config.stash[SOLUTION])
        return
    backend = request.config.stash[BACKEND]
    request.config.stash[CONFINEMENT] = backend.confinement
    yield Submission(backend)
    if options.record:
        record = {
            "costs": calibration.kept(backend.costs),
            "reference": {test: sorted(names) for test, names in sorted(backend.handed.items())},
        }
        Path(options.record).write_text(json.dumps(record, indent=1))


def pytest_exception_interact(call: pytest.CallInfo) -> None:
    """The child machinery failed (not the submission): stop, for no grade beats a wrong one."""
    if call.excinfo is not None and call.excinfo.errisinstance(HarnessError):
        pytest.exit(f"harness failure: {call.excinfo.value}", returncode=3)


@pytest.fixture(autouse=True)
def seeded(sub) -> None:
    """Student code draws from np.random; every test starts it from the same seed."""
    sub.seed(0)
