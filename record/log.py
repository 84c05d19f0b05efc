"""The run's record, one row per epoch: metrics.csv, TensorBoard and balance warnings (metrics.png: plot.py).

metrics.csv and warnings.log are rewritten whole (temporary file, then rename) each epoch: they are
small, and a crash can never leave half a row. On resume, rows after the restored checkpoint are
dropped, so each epoch appears exactly once; so are TensorBoard's points (kept_tensorboard_epochs).
"""

import contextlib
import csv
import errno
import io
import math
import os
import shutil

import tensorflow as tf

from output import atomic, run_files
from record import plot
from record.columns import NAMES


PATIENCE = 3              # epochs in a row before "the discriminator wins" is said
DISCRIMINATOR_WINS = 0.1  # ... when mean D(G(z)) stays below this: it rejects nearly every generated image
# Coverage is judged only once the samples look like real images to the classifier (score >= 2), so the
# first epochs, when they are noise and the classifier calls most of them one class, stay quiet.
LOOKS_LIKE_IMAGES = 2.0
LOW_ENTROPY = 0.8         # class (or mode) entropy below this: a few classes dominate
# Without a classifier, mode coverage is judged only once some samples lie among real images (precision), so
# the first epochs' noise, which falls into one mode, stays quiet.
LOOKS_REAL = 0.2
RARE_CLASS = 0.01         # a class in fewer than 1% of samples has all but disappeared
# A mode of the real images drawn at less than this share of its real share has mostly gone (its neighbours,
# not the data's classes, are what a mode holds: a dropped kind of image thins several of them).
THIN_MODE = 0.25
WRONG_LABEL = 0.5         # a conditional generator's class read as another one this often or more is drawn wrongly


def label_warnings(rows, worst_label, class_names):
    """A conditional generator that has drawn one class wrongly most of the time for PATIENCE evaluations
    (`worst_label`: the class worst drawn in the latest, as metrics.label_scores names it)."""
    scored = [row for row in rows if row["min_label_accuracy"] is not None][-PATIENCE:]
    if len(scored) < PATIENCE or not all(row["classifier_score"] >= LOOKS_LIKE_IMAGES
                                         and row["min_label_accuracy"] <= WRONG_LABEL for row in scored):
        return []
    name, last = class_names[worst_label], scored[-1]
    return [("wrong_label", f"for {PATIENCE} evaluations the generator has drawn one class wrongly most of the "
                            f"time; now {name}: the classifier reads {1 - last['min_label_accuracy']:.0%} of the "
                            f"{name}s as another class (all classes: label_accuracy {last['label_accuracy']:.0%}); "
                            f"see the grid's row for {name}")]


def balance_warnings(rows, relativistic=False):
    """(kind, message) for each imbalance the latest rows show; the caller says each kind once. With
    `relativistic` (train.loss), D(G(z)) is the pairs' verdict, and the generator's loss does not saturate when
    the discriminator wins, so the warning does not say its gradients fade."""
    found = []
    recent = rows[-PATIENCE:]
    if len(recent) == PATIENCE and all(row["d_fake"] < DISCRIMINATOR_WINS for row in recent):
        last, won = recent[-1], f"the discriminator has won for {PATIENCE} epochs"
        if relativistic:
            message = (f"{won}: it ranks the real image above the generated one in {last['fake_accuracy']:.0%} of "
                       f"pairs (pair verdict D(G(z)) {last['d_fake']:.3f}); the relativistic loss keeps the "
                       f"generator's gradients, so look at the grid: if it has stopped improving, try a lower "
                       f"train.discriminator_lr or train.augment (README: Is it learning?)")
        else:
            message = (f"{won}: mean D(G(z)) {last['d_fake']:.3f}, it rejects {last['fake_accuracy']:.0%} of "
                       f"generated images, so the generator's gradients fade. Try a lower train.discriminator_lr "
                       f"or a higher train.generator_lr (README: Is it learning?)")
        found.append(("discriminator_wins", message))
    scored = [row for row in rows if row["class_entropy"] is not None][-PATIENCE:]  # a classifier's numbers
    if len(scored) == PATIENCE and all(row["classifier_score"] >= LOOKS_LIKE_IMAGES and (
            row["class_entropy"] < LOW_ENTROPY or row["min_class_share"] < RARE_CLASS) for row in scored):
        last = scored[-1]
        found.append(("coverage_collapse",
                      f"class coverage is poor for {PATIENCE} evaluations: entropy {last['class_entropy']:.2f} (1.0 = "
                      f"all classes equally often), the rarest class is {last['min_class_share']:.1%} of samples: "
                      f"the generator draws only some classes (mode collapse). If Adam's beta_1 is still the tutorial's "
                      f"0.9, try train.generator_beta1=0.5 and train.discriminator_beta1=0.5, or the recipe in "
                      f"configs/fast.yaml (README: Is it learning?)"))
    return found


def mode_warnings(rows, rarest_mode):
    """Mode collapse without labels: for PATIENCE evaluations the samples fall into few of the real images'
    modes, or the mode drawn least for its size is drawn at under THIN_MODE of its share of the real images;
    `rarest_mode` names the latest's (its number, its share of the real images and of the samples, and the
    picture of the modes' real images, or None)."""
    scored = [row for row in rows if row["mode_entropy"] is not None][-PATIENCE:]
    if len(scored) < PATIENCE or not all(row["precision"] >= LOOKS_REAL and (
            row["mode_entropy"] < LOW_ENTROPY or row["min_mode_ratio"] < THIN_MODE) for row in scored):
        return []
    (number, real_share, drawn, picture), last = rarest_mode, scored[-1]
    shown = f" (row {number} of {picture} shows its real images)" if picture else ""
    return [("mode_collapse", f"mode coverage is poor for {PATIENCE} evaluations: entropy {last['mode_entropy']:.2f} "
                              f"(1.0 = all modes equally often); mode {number} of the real images (a k-means cluster "
                              f"of their features, {real_share:.0%} of them) is drawn in {drawn:.1%} of samples"
                              f"{shown}: the generator has dropped some kinds of the data's images (mode collapse). "
                              f"Try train.generator_beta1=0.5 and train.discriminator_beta1=0.5, or "
                              f"configs/clusters.yaml (README: Is it learning?)")]


HPARAMS_TAGS = "_hparams_/"  # what TensorBoard's hparams plugin writes


def kept_tensorboard_epochs(directory, last_epoch):
    """The epochs TensorBoard's event files in `directory` hold, each once, up to `last_epoch`: a resumed run
    rewrites them into one file without the points after its checkpoint (an epoch being redone) or written
    twice (by a run killed before its writer thread had finished), which TensorBoard would draw as two
    points at one step. Run again after a kill midway, it finishes the job: nothing is lost."""
    files = sorted(directory.glob("events.out.tfevents.*"))
    if not files:
        return set()
    points = {}  # (step, tag) -> the last value written, as TensorBoard would show it
    for file in files:
        for record in tf.data.TFRecordDataset(str(file)):  # an event file is a TFRecord file of Event protos
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value if event.step <= last_epoch else ():
                if not value.tag.startswith(HPARAMS_TAGS):  # written anew at every start: write_hparams
                    points[(event.step, value.tag)] = value
    rewritten = directory.parent / f".{directory.name}.tmp"
    shutil.rmtree(rewritten, ignore_errors=True)
    with tf.summary.create_file_writer(str(rewritten)).as_default() as writer:
        for (step, _), value in sorted(points.items(), key=lambda item: item[0]):
            tf.summary.experimental.write_raw_pb(tf.compat.v1.Summary(value=[value]).SerializeToString(), step=step)
        writer.flush()
    for file in rewritten.iterdir():
        os.replace(file, directory / file.name)
    for file in files:
        file.unlink()
    rewritten.rmdir()
    return {step for step, _ in points}


def parse_row(row):
    """A metrics.csv row as numbers; a column the file lacks (written before it existed) reads as empty."""
    return {key: int(row[key]) if key == "epoch" else (float(row[key]) if row.get(key) else None)
            for key in NAMES}


class RunLog:
    def __init__(self, run_dir, last_epoch, real_scores=None, classes=10, class_names=(), relativistic=False):
        """Continue the record of `run_dir` after `last_epoch` (0 for a new run); `real_scores`, the numbers
        of real images, are drawn as the floor, and `classes` is how many the scoring classifier knows;
        `class_names` name a conditional run's classes in its warnings; `relativistic`: train.loss is."""
        self.class_names, self.relativistic = class_names, relativistic
        self.csv_path, self.plot_path = run_dir / run_files.METRICS, run_dir / run_files.PLOT
        self.warnings_path = run_dir / run_files.WARNINGS  # written once there is a warning
        self.real_scores, self.classes = real_scores or {}, classes
        self.rows, self.warnings = [], []
        if self.csv_path.exists():
            with open(self.csv_path, newline="") as f:
                self.rows = [parse_row(row) for row in csv.DictReader(f) if int(row["epoch"]) <= last_epoch]
        if self.warnings_path.exists():
            self.warnings = [line for line in self.warnings_path.read_text().splitlines()
                             if int(line.split()[1]) <= last_epoch]
        self.tensorboard_dir = run_dir / run_files.TENSORBOARD
        with self.tensorboard_errors():
            self.tensorboard_epochs = kept_tensorboard_epochs(self.tensorboard_dir, last_epoch)
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
        time. write_tensorboard and plot then show it (training/epoch_files.py runs them in background threads)."""
        worst_label, rarest_mode = row.get("worst_label"), row.get("rarest_mode")  # not columns: named in warnings
        row = {column: row.get(column) for column in NAMES}
        self.rows.append(row)
        said = {line.split()[2] for line in self.warnings}
        found = balance_warnings(self.rows, self.relativistic)
        if worst_label is not None:
            found += label_warnings(self.rows, worst_label, self.class_names)
        if rarest_mode is not None:
            found += mode_warnings(self.rows, rarest_mode)
        new = [(kind, message) for kind, message in found if f"[{kind}]" not in said]
        self.warnings += [f"epoch {row['epoch']} [{kind}] {message}" for kind, message in new]
        self.write_csv()
        if self.warnings or self.warnings_path.exists():  # no empty file for a run without warnings
            atomic.write(self.warnings_path, lambda tmp: tmp.write_text("".join(
                line + "\n" for line in self.warnings)))
        return [message for _, message in new]

    def write_csv(self):
        text = io.StringIO()
        writer = csv.DictWriter(text, NAMES, lineterminator="\n")
        writer.writeheader()
        # Every digit (the shortest text that reads back as the same float): a resumed run can be compared exactly.
        writer.writerows({key: "" if value is None else str(value) if key == "epoch" else repr(float(value))
                          for key, value in row.items()} for row in self.rows)
        atomic.write(self.csv_path, lambda tmp: tmp.write_text(text.getvalue()))

    def write_hparams(self, settings):
        """The run's settings (output.* left out) for TensorBoard's HParams dashboard: `tensorboard --logdir
        outputs` lists, filters and sorts the runs by them, beside the last of each number written per epoch.
        Written at every start, so a resumed run's changed settings (its learning rates) are the ones shown."""
        from tensorboard.plugins.hparams import api as hparams
        values = {key: value if isinstance(value, (bool, int, float, str)) else str(value)
                  for key, value in settings.items() if value is not None and not key.startswith("output.")}
        with self.tensorboard_errors(), self.tensorboard.as_default():
            hparams.hparams(values, trial_id=self.csv_path.parent.name)
            self.tensorboard.flush()

    def write_tensorboard(self, row, picture):
        """The epoch's numbers and grid, unless TensorBoard has them already (a resumed run's last epoch)."""
        if row["epoch"] in self.tensorboard_epochs:
            return
        self.tensorboard_epochs.add(row["epoch"])
        with self.tensorboard_errors(), self.tensorboard.as_default(step=row["epoch"]):
            for column in NAMES[1:]:  # all but the epoch, TensorBoard's step
                if row[column] is not None:
                    tf.summary.scalar(column, row[column])
            tf.summary.image("generated", picture.reshape(1, *picture.shape[:2], -1))
            self.tensorboard.flush()

    def plot(self, rows):
        """metrics.png from `rows` (a copy of the record's, which another thread may extend meanwhile)."""
        plot.draw(self.plot_path, rows, self.real_scores, self.classes)
