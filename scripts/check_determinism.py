"""Does the same submission always get the same report? Grade it N times, compare the bytes.

The submission: the reference solution with a realistic bug in three sections (from the
mutant bank), so the reports carry failure messages, hypothesis examples included; or any
folder or zip given. The whole default rubric runs each time.

    python scripts/check_determinism.py [--times 10] [--jobs 2] [PATH]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests import mutants  # noqa: E402  (the bank of realistic bugs, beside the tests using it)
from tests.mutants import copy_of_solution  # noqa: E402

BUGS = ["dropout_without_inverse_scale", "sigmoid_forward_sign_flipped"]
REPORT_FILES = ("report.json", "report.md", "junit.xml")


def buggy_solution(folder: Path) -> Path:
    copy_of_solution(folder)
    bank = mutants.load()
    rnn = next(mutant for mutant in bank if mutant["section"] == "RNN")
    for mutant in [*map(mutants.named, BUGS), rnn]:
        mutants.apply(mutant, folder)
    return folder


def digest(out: Path) -> str:
    return hashlib.sha256(b"".join((out / name).read_bytes() for name in REPORT_FILES)).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "path",
        type=Path,
        nargs="?",
        help="submission (default: a buggy copy of the reference solution)",
    )
    parser.add_argument("--times", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="determinism-"))
    submission = args.path or buggy_solution(work / "student")

    def grade(i: int) -> str:
        out = work / f"report-{i}"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "graders",
                "grade",
                str(submission),
                "--out",
                str(out),
                "--quiet",
            ],
            cwd=ROOT,
            check=True,
        )
        return digest(out)

    start = time.perf_counter()
    with ThreadPoolExecutor(args.jobs) as pool:
        digests = list(pool.map(grade, range(args.times)))
    print((work / "report-0" / "report.md").read_text())
    verdict = "identical" if len(set(digests)) == 1 else f"{len(set(digests))} different"
    print(
        f"{args.times} gradings of {submission.name} in {time.perf_counter() - start:.0f} s: "
        f"reports {verdict} (sha256 of report.json+report.md+junit.xml: {digests[0][:16]})"
    )
    shutil.rmtree(work)
    sys.exit(0 if len(set(digests)) == 1 else 1)


if __name__ == "__main__":
    main()
