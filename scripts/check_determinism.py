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
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUGS = ["dropout_without_inverse_scale", "sigmoid_forward_sign_flipped"]
REPORT_FILES = ("report.json", "report.md", "junit.xml")


def buggy_solution(folder: Path) -> Path:
    shutil.copytree(ROOT / "solution", folder, ignore=shutil.ignore_patterns("__pycache__"))
    mutants = {
        m["name"]: m
        for bank in sorted((ROOT / "tests" / "mutants").glob("*.toml"))
        for m in tomllib.loads(bank.read_text())["mutant"]
    }
    rnn = next(name for name in mutants if mutants[name]["section"] == "RNN")
    for name in [*BUGS, rnn]:
        path = folder / mutants[name]["file"]
        path.write_text(path.read_text().replace(mutants[name]["find"], mutants[name]["replace"]))
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
