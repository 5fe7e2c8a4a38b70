"""scripts/train_rnn.py: gradient clipping, the windows of truncated BPTT, the sunspot split, and
short runs on a slice of the series (learning, Ctrl-C and --resume, the comparison plot)."""

import copy
import importlib.util
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "train_rnn.py"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def train_rnn():
    """The script as a module. It imports the reference solution's `Layers` and `Optimization`
    as top-level packages, as a student's code does; they are forgotten again afterwards, so
    that other tests can load other solutions under the same names."""
    saved_path, saved_modules = sys.path[:], set(sys.modules)
    sys.path.insert(0, str(SCRIPT.parent))  # as when it runs: its sibling `training`
    spec = importlib.util.spec_from_file_location("train_rnn", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    sys.path[:] = saved_path
    for name in set(sys.modules) - saved_modules:
        del sys.modules[name]


# ----------------------------------------------------------------------------- clipping
def joint_norm(gradients):
    return np.sqrt(sum(np.sum(gradient**2) for gradient in gradients))


@pytest.mark.parametrize("scale", [1.01, 10.0, 1e6])
def test_clipping_caps_the_joint_norm_and_keeps_the_direction(train_rnn, scale):
    rng = np.random.default_rng(0)
    gradients = [rng.normal(size=(18, 64)), rng.normal(size=(17, 1))]
    gradients = [gradient * scale / joint_norm(gradients) for gradient in gradients]  # norm: scale
    clipped, norm = train_rnn.clip_by_norm(gradients, 1.0)
    assert norm == pytest.approx(scale)
    assert joint_norm(clipped) <= 1.0 + 1e-12
    assert joint_norm(clipped) == pytest.approx(1.0)
    # One positive factor for every matrix: the update points where the gradient did.
    for before, after in zip(gradients, clipped, strict=True):
        np.testing.assert_allclose(after, before / scale, rtol=1e-12)


@pytest.mark.parametrize("scale", [0.0, 0.5, 1.0])
def test_clipping_leaves_gradients_within_the_norm_untouched(train_rnn, scale):
    rng = np.random.default_rng(1)
    gradients = [rng.normal(size=(4, 3)), rng.normal(size=(5,))]
    gradients = [gradient * scale / joint_norm(gradients) for gradient in gradients]
    clipped, norm = train_rnn.clip_by_norm(gradients, 1.0)
    assert norm == pytest.approx(scale)
    assert all(after is before for before, after in zip(gradients, clipped, strict=True))


def test_clipping_off_is_an_infinite_norm(train_rnn):
    gradients = [np.full(3, 1e150)]
    clipped, _ = train_rnn.clip_by_norm(gradients, np.inf)
    assert clipped[0] is gradients[0]


# ----------------------------------------------------------------------------- the sequence
def test_windows_cut_the_sequence_into_consecutive_pieces(train_rnn):
    assert train_rnn.windows(45, 20) == [(0, 20), (20, 40), (40, 45)]
    assert train_rnn.windows(40, 20) == [(0, 20), (20, 40)]
    assert train_rnn.windows(45, 0) == [(0, 45)]  # full BPTT


def test_the_sunspot_series_is_split_by_the_years_of_its_targets(train_rnn):
    years, values = train_rnn.load_sunspots()
    assert years[0] == 1700 and years[-1] == 2008 and len(years) == 309
    series = train_rnn.make_series(years, values)
    first_and_last = {
        part: (series.target_years[chosen][0], series.target_years[chosen][-1])
        for part, chosen in series.parts.items()
    }
    assert first_and_last == {
        "train": (1701, 1920),
        "validation": (1921, 1955),
        "test": (1956, 2008),
    }
    # The training years' range lands on [0.1, 0.7]; offset + factor * scaled undoes it.
    known = np.concatenate([series.inputs[:1, 0], series.targets[series.parts["train"], 0]])
    assert (known.min(), known.max()) == pytest.approx((0.1, 0.7))
    np.testing.assert_allclose(series.offset + series.factor * series.targets[:, 0], values[1:])
    # The naive forecast, each year as the year before, computed from the raw numbers:
    test_years = years[1:] >= 1956
    naive = np.sqrt(np.mean((values[:-1][test_years] - values[1:][test_years]) ** 2))
    assert series.naive_rmse("test") == pytest.approx(naive)


def test_a_missing_data_package_or_file_is_a_clear_error(train_rnn):
    with pytest.raises(SystemExit, match=r"inside the no_such_package package: pip install"):
        train_rnn.training.package_file("no_such_package", "x.csv", holds="the numbers")
    with pytest.raises(SystemExit, match=r"no_such\.csv, but this statsmodels has no such file"):
        train_rnn.training.package_file("statsmodels", "no_such.csv", holds="the numbers")


def test_an_epoch_carries_the_hidden_state_across_its_windows_from_a_zero_start(train_rnn):
    """Truncated BPTT sees the states of one pass over the whole sequence: with a learning rate
    of 0, an epoch of 8 windows ends in the state one forward over its 50 years ends in. The
    second epoch starts from zeros again, not from where the first ended."""
    years, values = train_rnn.load_sunspots()
    series = train_rnn.make_series(years, values, limit=50)
    spans = train_rnn.windows(50, 7)
    never_pressed = SimpleNamespace(pressed=False)
    for model in ("rnn", "lstm"):
        layer, optimizers = train_rnn.build(model, 4, "sgd", 0.0, seed=0, mean_target=0.3)
        one_pass = copy.deepcopy(layer)
        one_pass.forward(series.inputs[:50])
        for epoch in (1, 2):
            position = train_rnn.fresh_position(epoch)
            assert train_rnn.run_epoch(
                layer, optimizers, series, spans, position, np.inf, never_pressed
            )
            assert position["window"] == len(spans) == 8
            np.testing.assert_allclose(layer.hidden_state, one_pass.hidden_state, rtol=1e-12)


# ----------------------------------------------------------------------------- short runs
def command(*flags):
    return [sys.executable, str(SCRIPT), *map(str, flags)]


def run_script(*flags):
    return subprocess.run(command(*flags), check=False, capture_output=True, text=True, timeout=300)


def history(out):
    rows = json.loads((out / "metrics.json").read_text())["history"]
    return [{key: value for key, value in row.items() if key != "seconds"} for row in rows]


# Quick flags: the first 60 training years in windows of 6, an RNN of 8 units.
SLICE = ("--model", "rnn", "--hidden", 8, "--limit", 60, "--window", 6, "--lr", 0.03)


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("short") / "run"
    result = run_script(*SLICE, "--epochs", 40, "--patience", 99, "--out", out)
    assert result.returncode == 0, result.stderr
    return out, result


def test_a_short_run_on_a_slice_learns(short_run):
    out, result = short_run
    metrics = json.loads((out / "metrics.json").read_text())
    rmse = [row["train_rmse"] for row in metrics["history"]]
    assert len(rmse) == 41 and metrics["stopped"] == "completed"  # epoch 0 and 40 epochs
    assert rmse[-1] < 0.6 * rmse[0]
    assert metrics["history"][1]["clipped_fraction"] is not None
    assert metrics["best"]["validation_rmse"] < metrics["history"][0]["validation_rmse"]
    assert metrics["data"]["train"] == "1701-1760"
    assert "test RMSE" in result.stdout and metrics["test"]["epoch"] == metrics["best"]["epoch"]
    assert {"last.pkl", "best.pkl", "metrics.json", "curves.png"} <= {p.name for p in out.iterdir()}
    assert (out / "curves.png").read_bytes()[:8] == PNG_SIGNATURE


def test_compare_draws_the_loss_curves_of_runs_into_one_png(short_run, tmp_path):
    out, _ = short_run
    result = run_script("--compare", out, out, "--out", tmp_path / "both.png")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "both.png").read_bytes()[:8] == PNG_SIGNATURE


@pytest.mark.timeout(600)
def test_a_run_stopped_by_ctrl_c_and_resumed_ends_as_if_never_stopped(train_rnn, tmp_path):
    flags = (*SLICE, "--patience", 10**6, "--lr-step", 3)
    stopped, straight = tmp_path / "stopped", tmp_path / "straight"
    process = subprocess.Popen(
        command(*flags, "--epochs", 10**6, "--out", stopped),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while not (stopped / "metrics.json").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    # metrics.json first appears after epoch 25 (--print-every), once Ctrl-C is handled; the
    # signal lands after one of the 10 windows of a later epoch.
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 130, stderr
    assert "interrupted" in stdout
    metrics = json.loads((stopped / "metrics.json").read_text())
    assert metrics["stopped"] == "interrupted" and metrics["next"]["window"] >= 1
    epochs = metrics["next"]["epoch"]  # the epoch Ctrl-C cut short

    resumed = run_script(*flags, "--epochs", epochs, "--out", stopped, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming from" in resumed.stdout
    assert run_script(*flags, "--epochs", epochs, "--out", straight).returncode == 0
    assert history(stopped) == history(straight)
    assert [row["epoch"] for row in history(stopped)] == list(range(epochs + 1))
    for checkpoint in ("last.pkl", "best.pkl"):
        (layer, optimizers, _), (twin, twin_optimizers, _) = (
            train_rnn.load(run / checkpoint) for run in (stopped, straight)
        )
        for name in ("weights", "output_weights", "hidden_state"):
            np.testing.assert_array_equal(getattr(layer, name), getattr(twin, name))
        for optimizer, twin_optimizer in zip(optimizers, twin_optimizers, strict=True):
            np.testing.assert_array_equal(optimizer.second_moment, twin_optimizer.second_moment)


# ----------------------------------------------------------------------------- command line
def test_help_explains_every_flag(train_rnn):
    actions = train_rnn.build_parser()._actions
    assert all(action.help for action in actions)
    result = run_script("-h")
    assert result.returncode == 0
    for action in actions:
        assert action.option_strings[-1] in result.stdout


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--window", -1), "argument --window: must be at least 0, got -1"),
        (("--hidden", "many"), "argument --hidden: invalid int value: 'many'"),
        (("--compare", "runs/x"), "--compare draws into the PNG file given with --out"),
        (("--compare", "nowhere", "--out", "x.png"), "--compare: no metrics.json in nowhere"),
    ],
)
def test_a_wrong_command_line_is_a_usage_error(flags, message):
    result = run_script(*flags)
    assert result.returncode == 2 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_resume_without_a_run_says_so(tmp_path):
    result = run_script("--resume", "--out", tmp_path / "empty")
    assert result.returncode == 1 and "nothing to resume" in result.stderr
    assert "Traceback" not in result.stderr
