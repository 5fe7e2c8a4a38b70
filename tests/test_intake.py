"""Every malformed zip ends in a report that says why: undecodable or unusable names, a file
twice, a truncated or damaged archive, an encrypted one, something that is no zip at all."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from graders import intake

ROOT = Path(__file__).resolve().parents[1]
TANH = "import numpy as np\n\n\nclass TanH:\n    pass\n"


def good_zip(path: Path, names: tuple[str, ...] = ("Layers/TanH.py", "NeuralNetwork.py")) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            archive.writestr(name, TANH * 50)
    return path


def patched(path: Path, old: bytes, new: bytes) -> Path:
    """The zip with `old` replaced by `new` everywhere (local headers and central directory)."""
    data = path.read_bytes()
    assert data.count(old) >= 2, f"{old!r} is not in both headers"
    path.write_bytes(data.replace(old, new))
    return path


def undecodable_name(tmp: Path) -> Path:
    # é is written as UTF-8 (c3 a9) with the UTF-8 flag: make those bytes invalid UTF-8
    return patched(good_zip(tmp / "a.zip", ("Layers/Tan\u00e9.py",)), b"\xc3\xa9", b"\xff\xfe")


def control_character(tmp: Path) -> Path:
    return patched(good_zip(tmp / "a.zip", ("Layers/TanH_.py",)), b"TanH_", b"TanH\x07")


def twice(tmp: Path) -> Path:
    path = tmp / "a.zip"
    with zipfile.ZipFile(path, "w") as archive, pytest.warns(UserWarning, match="Duplicate"):
        archive.writestr("Layers/TanH.py", TANH)
        archive.writestr("Layers/TanH.py", TANH + "# the other\n")
    return path


def truncated(tmp: Path) -> Path:
    path = good_zip(tmp / "a.zip")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


def damaged(tmp: Path) -> Path:
    path = good_zip(tmp / "a.zip")
    data = bytearray(path.read_bytes())
    data[60] ^= 0xFF  # inside the first member's compressed data
    path.write_bytes(bytes(data))
    return path


def encrypted(tmp: Path) -> Path:
    # general purpose flag bit 0, in the local header (offset 6) and the central one (offset 8)
    path = good_zip(tmp / "a.zip", ("Layers/TanH.py",))
    data = bytearray(path.read_bytes())
    data[6] |= 1
    central = data.index(b"PK\x01\x02")
    data[central + 8] |= 1
    path.write_bytes(bytes(data))
    return path


def not_a_zip(tmp: Path) -> Path:
    path = tmp / "a.zip"
    path.write_bytes(b"this is a PDF, renamed\n" * 40)
    return path


MALFORMED = {
    undecodable_name: r"file name that is not valid UTF-8",
    control_character: r"unusable name",
    twice: r"holds Layers/TanH\.py twice",
    truncated: r"not a zip file, or it is truncated",
    damaged: r"cannot be unpacked .*truncated or damaged",
    encrypted: r"is encrypted",
    not_a_zip: r"not a zip file, or it is truncated",
}


@pytest.mark.parametrize("make", MALFORMED, ids=[make.__name__ for make in MALFORMED])
def test_a_malformed_zip_is_refused_with_its_reason(make, tmp_path: Path):
    archive = make(tmp_path)
    with pytest.raises(intake.UngradableError, match=MALFORMED[make]):
        intake.prepare(archive, tmp_path / "work")


@pytest.mark.parametrize("make", [undecodable_name, damaged], ids=["undecodable", "damaged"])
def test_the_graders_write_a_report_for_a_malformed_zip(make, tmp_path: Path):
    archive = make(tmp_path)
    out = tmp_path / "report"
    done = subprocess.run(
        [sys.executable, "-m", "graders", "grade", str(archive), "--out", str(out), "--quiet"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["score"] == 0
    assert report["extra_data"]["problem"].startswith("a.zip ")


def test_a_path_that_does_not_exist_is_a_usage_error(tmp_path: Path):
    out = tmp_path / "report"
    done = subprocess.run(
        [sys.executable, "-m", "graders", "grade", str(tmp_path / "typo"), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2
    assert "does not exist" in done.stderr
    assert not out.exists()
