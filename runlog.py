"""The run's record, one row per epoch: metrics.csv, metrics.png, TensorBoard, and balance warnings.

metrics.csv and warnings.log are rewritten whole (temporary file, then rename) each epoch: they are
small, and a crash can never leave half a row. On resume, rows after the restored checkpoint are
dropped, so each epoch appears exactly once.
"""

import contextlib
import csv
import errno
import io
import math

import tensorflow as tf

import images

TIMING_COLUMNS = ["seconds", "train_seconds"]  # the only columns that differ between two runs of one seed
TRAINING_COLUMNS = ["gen_loss", "disc_loss", "d_real", "d_fake", "real_accuracy", "fake_accuracy", "gen_grad_norm"]
QUALITY_COLUMNS = ["frechet_distance", "class_entropy", "min_class_share", "classifier_score",
                   "label_accuracy", "min_label_accuracy"]  # the last two for conditional runs
COLUMNS = ["epoch"] + TIMING_COLUMNS + TRAINING_COLUMNS + QUALITY_COLUMNS

PATIENCE = 3              # epochs in a row before "the discriminator wins" is said
DISCRIMINATOR_WINS = 0.1  # ... when mean D(G(z)) stays below this: it rejects nearly every generated digit
# Coverage is judged only once the samples look like digits to the classifier (score >= 2), so the
# first epochs, when they are noise and the classifier calls most of them one digit, stay quiet.
LOOKS_LIKE_DIGITS = 2.0
LOW_ENTROPY = 0.8         # class entropy below this: a few digits dominate
RARE_CLASS = 0.01         # a digit in fewer than 1% of samples has all but disappeared
WRONG_LABEL = 0.5         # a conditional generator's digit read as another one this often or more is drawn wrongly


def label_warnings(rows, worst_label, class_names):
    """A conditional generator that has drawn one class wrongly most of the time for PATIENCE evaluations
    (`worst_label`: the class worst drawn in the latest, as metrics.label_scores names it)."""
    scored = [row for row in rows if row["min_label_accuracy"] is not None][-PATIENCE:]
    if len(scored) < PATIENCE or not all(row["classifier_score"] >= LOOKS_LIKE_DIGITS
                                         and row["min_label_accuracy"] <= WRONG_LABEL for row in scored):
        return []
    name, last = class_names[worst_label], scored[-1]
    return [("wrong_label", f"for {PATIENCE} evaluations the generator has drawn one class wrongly most of the "
                            f"time; now {name}: the classifier reads {1 - last['min_label_accuracy']:.0%} of the "
                            f"{name}s as another class (all classes: label_accuracy {last['label_accuracy']:.0%}); "
                            f"see the grid's row for {name}")]


def balance_warnings(rows):
    """(kind, message) for each imbalance the latest rows show; the caller says each kind once."""
    found = []
    recent = rows[-PATIENCE:]
    if len(recent) == PATIENCE and all(row["d_fake"] < DISCRIMINATOR_WINS for row in recent):
        found.append(("discriminator_wins",
                      f"the discriminator has won for {PATIENCE} epochs: mean D(G(z)) {recent[-1]['d_fake']:.3f}, "
                      f"it rejects {recent[-1]['fake_accuracy']:.0%} of generated digits, so the generator's "
                      f"gradients fade. Try a lower train.discriminator_lr or a higher train.generator_lr (README: "
                      f"Is it learning?)"))
    scored = [row for row in rows if row["class_entropy"] is not None][-PATIENCE:]
    if len(scored) == PATIENCE and all(row["classifier_score"] >= LOOKS_LIKE_DIGITS and (
            row["class_entropy"] < LOW_ENTROPY or row["min_class_share"] < RARE_CLASS) for row in scored):
        last = scored[-1]
        found.append(("coverage_collapse",
                      f"class coverage is poor for {PATIENCE} evaluations: entropy {last['class_entropy']:.2f} (1.0 = "
                      f"all ten digits equally often), the rarest digit is {last['min_class_share']:.1%} of samples: "
                      f"the generator draws only some digits (mode collapse). If Adam's beta_1 is still the tutorial's "
                      f"0.9, try train.generator_beta1=0.5 and train.discriminator_beta1=0.5, or the recipe in "
                      f"configs/fast.yaml (README: Is it learning?)"))
    return found


def parse_row(row):
    """A metrics.csv row as numbers; a column the file lacks (written before it existed) reads as empty."""
    return {key: int(row[key]) if key == "epoch" else (float(row[key]) if row.get(key) else None)
            for key in COLUMNS}


class RunLog:
    def __init__(self, run_dir, last_epoch, real_frechet=None, class_names=()):
        """Continue the record of `run_dir` after `last_epoch` (0 for a new run); `class_names` name a
        conditional run's classes in its warnings."""
        self.class_names = class_names
        self.csv_path, self.plot_path = run_dir / "metrics.csv", run_dir / "metrics.png"
        self.warnings_path = run_dir / "warnings.log"  # written once there is a warning
        self.real_frechet = real_frechet
        self.rows, self.warnings = [], []
        if self.csv_path.exists():
            with open(self.csv_path, newline="") as f:
                self.rows = [parse_row(row) for row in csv.DictReader(f) if int(row["epoch"]) <= last_epoch]
        if self.warnings_path.exists():
            self.warnings = [line for line in self.warnings_path.read_text().splitlines()
                             if int(line.split()[1]) <= last_epoch]
        self.tensorboard_dir = run_dir / "tensorboard"
        with self.tensorboard_errors():
            self.tensorboard = tf.summary.create_file_writer(str(self.tensorboard_dir))

    @contextlib.contextmanager
    def tensorboard_errors(self):
        """TensorFlow reports a folder it cannot write as its own error: raised as the OSError it is."""
        try:
            yield
        except tf.errors.OpError as e:
            reason = e.message.split("[Op:")[0].split("}}")[-1].strip()
            raise OSError(errno.EIO, f"TensorBoard's event file not written ({reason})",
                          str(self.tensorboard_dir)) from None

    @property
    def best_frechet(self):
        scores = [row["frechet_distance"] for row in self.rows if row["frechet_distance"] is not None]
        return min(scores, default=math.inf)

    def add(self, row):
        """Record one epoch in metrics.csv (and warnings.log); returns the warnings it raised for the first
        time. write_tensorboard and plot then show it (record.py runs them in background threads)."""
        worst_label = row.get("worst_label")  # not a column: named in a warning only
        row = {column: row.get(column) for column in COLUMNS}
        self.rows.append(row)
        said = {line.split()[2] for line in self.warnings}
        found = balance_warnings(self.rows)
        if worst_label is not None:
            found += label_warnings(self.rows, worst_label, self.class_names)
        new = [(kind, message) for kind, message in found if f"[{kind}]" not in said]
        self.warnings += [f"epoch {row['epoch']} [{kind}] {message}" for kind, message in new]
        self.write_csv()
        if self.warnings or self.warnings_path.exists():  # no empty file for a run without warnings
            images.write_atomically(self.warnings_path, lambda tmp: tmp.write_text("".join(
                line + "\n" for line in self.warnings)))
        return [message for _, message in new]

    def write_csv(self):
        text = io.StringIO()
        writer = csv.DictWriter(text, COLUMNS, lineterminator="\n")
        writer.writeheader()
        # Every digit (the shortest text that reads back as the same float): a resumed run can be compared exactly.
        writer.writerows({key: "" if value is None else str(value) if key == "epoch" else repr(float(value))
                          for key, value in row.items()} for row in self.rows)
        images.write_atomically(self.csv_path, lambda tmp: tmp.write_text(text.getvalue()))

    def write_tensorboard(self, row, picture):
        with self.tensorboard_errors(), self.tensorboard.as_default(step=row["epoch"]):
            for column in TRAINING_COLUMNS + QUALITY_COLUMNS + TIMING_COLUMNS:
                if row[column] is not None:
                    tf.summary.scalar(column, row[column])
            tf.summary.image("generated", picture.reshape(1, *picture.shape[:2], -1))
            self.tensorboard.flush()

    def plot(self, rows):
        """metrics.png from `rows` (a copy of the record's, which another thread may extend meanwhile): the
        losses next to what they hide — the balance and the image quality."""
        from matplotlib.figure import Figure  # not pyplot: its global state is not for a background thread

        epochs = [row["epoch"] for row in rows]
        series = {column: [row[column] for row in rows] for column in COLUMNS}
        scored = [row for row in rows if row["frechet_distance"] is not None]
        figure = Figure(figsize=(11, 7))
        axes = figure.subplots(2, 2, sharex=True)
        losses, balance, distance, coverage = axes.flat
        losses.plot(epochs, series["gen_loss"], label="generator")
        losses.plot(epochs, series["disc_loss"], label="discriminator")
        losses.set_title("losses (say little about quality)")
        balance.plot(epochs, series["d_real"], label="D(x), real")
        balance.plot(epochs, series["d_fake"], label="D(G(z)), generated")
        balance.axhline(0.5, color="gray", linestyle=":", label="fooled: 0.5")
        balance.set_ylim(0, 1)
        balance.set_title("balance: the discriminator's mean belief 'real'")
        if scored:
            distance.plot([r["epoch"] for r in scored], [r["frechet_distance"] for r in scored], "o-",
                          label="generated", markersize=3)
            coverage.plot([r["epoch"] for r in scored], [r["class_entropy"] for r in scored], "o-",
                          label="class entropy", markersize=3)
            coverage.plot([r["epoch"] for r in scored], [r["classifier_score"] / 10 for r in scored], "o-",
                          label="classifier score / 10", markersize=3)
            coverage.plot([r["epoch"] for r in scored], [r["min_class_share"] * 10 for r in scored], "o-",
                          label="rarest digit's share x 10 (1 = fair)", markersize=3)
            if scored[-1]["label_accuracy"] is not None:
                coverage.plot([r["epoch"] for r in scored], [r["label_accuracy"] for r in scored], "o-",
                              label="label accuracy (drawn as asked)", markersize=3)
            distance.set_yscale("log")
        if self.real_frechet is not None:
            distance.axhline(self.real_frechet, color="gray", linestyle=":", label="real digits")
        distance.set_title("Fréchet distance to real digits (lower is better)")
        coverage.set_ylim(0, 1.05)
        coverage.set_title("which digits it draws (1 is best)")
        for axis in axes.flat:
            if axis.get_legend_handles_labels()[0]:
                axis.legend(fontsize=8)
            axis.grid(alpha=0.3)
        for axis in axes[1]:
            axis.set_xlabel("epoch")
        figure.tight_layout()
        images.write_atomically(self.plot_path, lambda tmp: figure.savefig(tmp, dpi=80))
