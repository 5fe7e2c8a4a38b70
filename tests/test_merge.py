"""Beyond one machine: `batch --shard K/N` grades a part of the class, and `merge` puts the parts
together into exactly what one `batch` of the whole class writes, byte for byte. A merge
refuses parts that do not make one class. And `batch` says so when there is nothing to grade.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from graders import reports, scoring, similarity
from graders.batch import Shard, parse_shard
from graders.merge import MergeError, merge
from graders.rubric import Rubric, Section
from tests import mutants
from tests.mutants import copy_of_solution
from tests.test_graders import record

ROOT = Path(__file__).resolve().parents[1]
RUBRIC = "[exercise]\nTanH = 2.5\nDropout = 5\n"
STUDENTS = ("ref", "dropout_bug", "no_tanh", "not_a_zip")
SIMILARITY = similarity.available()  # the similarity extra; without it, shards are merged alone


def graders(*args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "graders", *map(str, args)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def run(*args: object) -> tuple[int, str]:
    """`python -m graders ...` to its end: exit status and output."""
    process = graders(*args)
    output = process.communicate(timeout=900)[0]
    return process.returncode, output


def finish(*processes: subprocess.Popen[str]) -> list[str]:
    outputs = [process.communicate(timeout=900)[0] for process in processes]
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output
    return outputs


def make_class(folder: Path) -> Path:
    copy_of_solution(folder / "ref")
    mutants.apply(
        mutants.named("dropout_without_inverse_scale"), copy_of_solution(folder / "dropout_bug")
    )
    (copy_of_solution(folder / "no_tanh") / "Layers" / "TanH.py").unlink()
    (folder / "not_a_zip.zip").write_bytes(b"PK\x03\x04 not a zip")
    return folder


def tree(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_a_shard_is_a_partition_of_the_class_by_name():
    names = [f"student{k}" for k in range(200)]
    shards = [Shard(k, 4) for k in range(1, 5)]
    assert all(sum(shard.holds(name) for shard in shards) == 1 for name in names)
    assert all(30 < sum(map(shard.holds, names)) < 70 for shard in shards)  # roughly even
    assert parse_shard("3/4") == Shard(3, 4)
    for wrong in ("0/4", "5/4", "4", "a/b", "1/0"):
        with pytest.raises(ValueError, match="a shard is K/N"):
            parse_shard(wrong)


@pytest.mark.timeout(900)
def test_shards_graded_apart_and_merged_equal_one_batch_byte_for_byte(tmp_path):
    submissions = make_class(tmp_path / "class")
    rubric = tmp_path / "rubric.toml"
    rubric.write_text(RUBRIC)
    held = [[s for s in STUDENTS if Shard(k, 2).holds(s)] for k in (1, 2)]
    assert all(held), held  # both shards have work, or this test would prove little
    common = ("--rubric", rubric, "--jobs", 1)
    shards = [tmp_path / "shards" / str(k) for k in (1, 2)]
    compare = (["--similarity"], ["--similarity", submissions]) if SIMILARITY else ([], [])
    finish(
        graders("batch", submissions, "--out", tmp_path / "one", *common, *compare[0]),
        *[
            graders("batch", submissions, "--out", shards[k - 1], "--shard", f"{k}/2", *common)
            for k in (1, 2)
        ],
    )
    for shard, students in zip(shards, held, strict=True):
        assert sorted(p.name for p in shard.iterdir() if p.is_dir()) == sorted(students)
    merged = tmp_path / "merged"
    finish(graders("merge", *shards, "--out", merged, "--rubric", rubric, *compare[1]))
    one = tree(tmp_path / "one")
    assert {"gradebook.csv", "class.md", "ref/report.json", "not_a_zip/report.json"} <= set(one)
    assert ("## Similar submissions" in one["class.md"].decode()) == SIMILARITY
    assert tree(merged) == one

    status, output = run("merge", shards[0], "--out", tmp_path / "m", "--rubric", rubric)
    assert status == 2 and "missing ['2/2']" in output, output
    other = tmp_path / "other.toml"
    other.write_text(RUBRIC + "Sigmoid = 2.5\n")
    status, output = run("merge", *shards, "--out", tmp_path / "m", "--rubric", other)
    assert status == 2 and "graded with another rubric" in output, output
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda folder: folder, "is not a folder"),
        (lambda folder: folder.mkdir() or folder, "holds no submissions"),
    ],
)
def test_batch_says_when_there_is_nothing_to_grade(tmp_path, make, message):
    status, output = run("batch", make(tmp_path / "class"), "--out", tmp_path / "out")
    assert status == 2 and message in output, output
    assert not (tmp_path / "out").exists()


def test_similarity_is_for_the_whole_class_not_a_shard(tmp_path):
    status, output = run("batch", tmp_path, "--shard", "1/2", "--similarity")
    assert status == 2 and "give it to merge" in output, output


# -- what merge refuses, on made-up shard outputs (no grading) --------------------------------

MADE_UP = Rubric(sections=(Section("A", "exercise", 10),))


def made_up_shard(folder: Path, shard: str, students: list[str], harness: str = "h1") -> Path:
    """A shard's output as `batch --shard` leaves it, for a class of `students`."""
    held = [name for name in students if parse_shard(shard).holds(name)]
    stamp = {"rubric": MADE_UP.digest, "release": False, "harness": harness}
    for name in held:
        records = [record("A", "test_a1")]
        reports.write(scoring.score(name, records, MADE_UP, fingerprint=stamp), folder / name)
    record_ = {"shard": shard, "class": sorted(students), "failures": {}}
    (folder / "shard.json").write_text(json.dumps(record_))
    return folder


CLASS_OF_SIX = [f"s{k}" for k in range(6)]


@pytest.mark.parametrize(
    ("shards", "message"),
    [
        ([("1/2", CLASS_OF_SIX), ("1/2", CLASS_OF_SIX)], r"missing \['2/2'\], repeated \['1/2'\]"),
        ([("1/2", CLASS_OF_SIX), ("2/3", CLASS_OF_SIX)], "different splits"),
        ([("1/2", CLASS_OF_SIX), ("2/2", CLASS_OF_SIX[:5])], "saw different classes"),
    ],
)
def test_merge_refuses_shards_that_are_not_one_split_of_one_class(tmp_path, shards, message):
    folders = [made_up_shard(tmp_path / str(k), *shard) for k, shard in enumerate(shards)]
    with pytest.raises(MergeError, match=message):
        merge(folders, tmp_path / "out", MADE_UP)
    assert not (tmp_path / "out").exists()


def test_merge_refuses_reports_of_two_harnesses_a_folder_of_no_shard_and_merging_into_a_shard(
    tmp_path,
):
    first = made_up_shard(tmp_path / "1", "1/2", CLASS_OF_SIX)
    second = made_up_shard(tmp_path / "2", "2/2", CLASS_OF_SIX, harness="h2")
    with pytest.raises(MergeError, match="different versions of the harness"):
        merge([first, second], tmp_path / "out", MADE_UP)
    with pytest.raises(MergeError, match="is not the output of `batch --shard K/N`"):
        merge([first, tmp_path], tmp_path / "out", MADE_UP)
    second = made_up_shard(tmp_path / "2", "2/2", CLASS_OF_SIX)
    with pytest.raises(MergeError, match="is one of the shards"):
        merge([first, second], first, MADE_UP)
    merge([first, second], tmp_path / "out", MADE_UP)
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if p.is_dir()) == CLASS_OF_SIX
