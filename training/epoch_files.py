"""What each epoch leaves in the run directory, written so that the next epoch's steps wait as little as
possible and a kill loses nothing.

At the epoch's end, on the training's path: its grid PNG, its quality scores (when due), then its row in
metrics.csv and warnings.log; the checkpoint comes after (loop.py). Then, in background threads while the
next epoch trains (output.write_in_background): the GIF's new frame, the epoch's TensorBoard row and, if its
scores are the best so far, generator_best.keras (from a copy of the weights), one epoch after another and
never more than one epoch behind; and metrics.png, redrawn from the latest
rows when its previous drawing has finished and took at most PLOT_SHARE of the time since it began
(matplotlib takes ~0.3 s: more than a short epoch), and always at the end. A resumed run writes the GIF,
TensorBoard's last row, metrics.png and, if its last epoch was the best, generator_best.keras again, in
case a kill came before the threads had: the restored generator is that epoch's.

The trade-off: on a machine without a spare core the threads' work slows the steps instead.
"""

import concurrent.futures
import time

from output import atomic, run_files
from record import generator_files, images, log
from training import clusters


PLOT_SHARE = 0.05  # metrics.png's drawing takes at most this share of a run's time


def save_reals(training_images, cfg, run_dir, count):
    """images/reals.png: the first `count` images of epoch 1 exactly as the network gets them (through the
    epoch's own pipeline and scaling), drawn like the epochs' grids. A decoding surprise (a transparent
    background gone black, photos on their side) shows here before any epoch is spent on it."""
    from data import pipeline
    batch = next(iter(pipeline.epoch_batches(training_images, None, min(count, len(training_images)), cfg["train.seed"],
                                             1, 1, cfg["data.shuffle_buffer"])))[0]
    images.save_grid(batch.numpy(), run_dir / run_files.IMAGES / run_files.REALS, columns=cfg["output.grid_size"])


def save_generator(generator, path, class_names, class_shares=None, epoch=None):
    atomic.write(path, lambda temporary: generator_files.save_generator(generator, temporary, class_names, class_shares, epoch))


class EpochRecord:
    """Used as a context manager: leaving it waits for the threads and draws metrics.png a last time."""

    def __init__(self, cfg, run_dir, training, class_names, evaluator):
        """`evaluator` (a metrics.Evaluator, or None) scores the run's sampler when eval.every says so."""
        self.cfg, self.run_dir, self.class_names, self.sampler = cfg, run_dir, class_names, training.sampler
        self.evaluator = evaluator
        self.log = log.RunLog(run_dir, training.epoch, class_names=class_names,
                              real_scores=evaluator.reference.real_scores if evaluator else {},
                              classes=len(evaluator.reference.class_names or []) if evaluator else 0,
                              relativistic=cfg["train.loss"] == "relativistic")
        self.log.write_hparams(cfg)
        background = cfg["output.write_in_background"]
        self.files = concurrent.futures.ThreadPoolExecutor(1, "epoch-files") if background else None
        self.plots = concurrent.futures.ThreadPoolExecutor(1, "metrics-plot") if background else None
        self.pending_files = self.pending_plot = None
        self.best_generator = None  # the copy of the sampler that generator_best.keras is saved from
        self.plotted = 0  # rows in the metrics.png drawn or being drawn
        self.plot_started, self.plot_seconds = -float("inf"), 0.0  # perf_counter, and how long it took
        # The GIF's frames stay in memory, compressed; a resumed run reads its earlier ones from disk once.
        earlier_frames = [run_files.epoch_grid(run_dir, i) for i in range(1, training.epoch + 1)]
        pictures = images.read_pngs(path for path in earlier_frames if path.exists())
        self.gif = images.ProgressGif(pictures)
        weights = None  # the restored sampler's, when its epoch is the best and generator_best.keras is written again
        if self.log.rows and pictures:
            last = self.log.rows[-1]
            best = last["frechet_distance"] is not None and last["frechet_distance"] <= self.log.best_frechet
            weights = training.sampler.get_weights() if best and not training.step else None  # not mid-epoch
            self.pending_files = self.start(self.files, self.write_files, last, pictures[-1], weights,
                                            training.cluster_shares(), False)
            self.replot()
        self.drop_stale_best(rewritten=weights is not None)

    def drop_stale_best(self, rewritten):
        """A resumed run's generator_best.keras must hold the best of the epochs its record kept. Resumed from an
        older checkpoint (output.checkpoint_every > 1, or a deleted newest one), the file may hold an epoch whose
        row was dropped: no generator of the best kept epoch is left to write, so it goes, and the next epoch
        to score better than the kept rows writes it again (`rewritten`: the resume is writing the best kept epoch's
        generator already). A file saved without its epoch stays."""
        path = self.run_dir / run_files.BEST_GENERATOR
        held = generator_files.saved_epoch(path) if path.is_file() else None
        scored = [row for row in self.log.rows if row["frechet_distance"] is not None]
        best = min(scored, key=lambda row: row["frechet_distance"])["epoch"] if scored else None
        if held is None or held == best or rewritten:
            return
        path.unlink()
        print(f"note: {path.name} held epoch {held}, which is not the best of the epochs kept on resume "
              f"({'epoch ' + str(best) if best else 'none is scored'}); removed: the next epoch that scores better "
              f"writes it again", flush=True)

    def __enter__(self):
        return self

    def __exit__(self, failure, *details):
        try:
            self.finish_files()
            self.finish_plot()
            if self.plotted < len(self.log.rows) and failure is None:
                self.log.plot(self.log.rows)
        except Exception:
            if failure is None:
                raise  # else the first error is the one to report
        finally:
            for executor in (self.files, self.plots):
                if executor:
                    executor.shutdown()

    @staticmethod
    def start(executor, job, *args):
        """`job(*args)` in `executor`'s thread, or at once without one; its future (None: already done)."""
        if executor is None:
            job(*args)
            return None
        return executor.submit(job, *args)

    def finish_files(self):
        """Until the previous epoch's GIF frame and TensorBoard row are written; a failure there is raised here."""
        pending, self.pending_files = self.pending_files, None
        if pending is not None:
            pending.result()

    def finish_plot(self):
        pending, self.pending_plot = self.pending_plot, None
        if pending is not None:
            pending.result()

    def add(self, row, samples, started, class_shares=None):
        """Write epoch row["epoch"]'s grid and row, scoring the sampler when it is due (a self-conditioned one
        drawing its clusters in `class_shares`), and start the rest; `started` is when the epoch began
        (perf_counter). Returns the warnings the epoch raised for the first time."""
        number = row["epoch"]
        picture = images.save_grid(samples, run_files.epoch_grid(self.run_dir, number),
                                   columns=self.cfg["output.grid_size"])
        best_weights = None
        if self.evaluator and (number % self.cfg["eval.every"] == 0 or number == self.cfg["train.epochs"]):
            drawn = None if class_shares is None else clusters.proportional(class_shares, self.evaluator.num_samples)
            quality = self.evaluator.score_generator(self.sampler, drawn)
            if quality["frechet_distance"] < self.log.best_frechet:
                best_weights = self.sampler.get_weights()  # a copy: the next epoch trains on meanwhile
            row.update(quality)
        row["seconds"] = time.perf_counter() - started
        warnings = self.log.add(row)
        self.finish_files()  # one epoch at a time: the frames stay in order, and the lag stays one epoch
        self.pending_files = self.start(self.files, self.write_files, self.log.rows[-1], picture, best_weights,
                                        class_shares)
        self.replot()
        return warnings

    def write_files(self, row, picture, best_weights, class_shares=None, new_frame=True):
        """The GIF (with `picture` as its newest frame if `new_frame`), the epoch's TensorBoard row, and
        generator_best.keras with `best_weights` (and a self-conditioned run's `class_shares`) if given."""
        import keras
        if new_frame:
            self.gif.add(picture)
        self.gif.save(self.run_dir / run_files.GIF)
        self.log.write_tensorboard(row, picture)
        if best_weights is not None:
            if self.best_generator is None:
                self.best_generator = keras.models.clone_model(self.sampler)
            self.best_generator.set_weights(best_weights)
            save_generator(self.best_generator, self.run_dir / run_files.BEST_GENERATOR, self.class_names, class_shares,
                           epoch=row["epoch"])

    def replot(self):
        """metrics.png from the rows so far, unless its previous drawing is still under way or was too recent
        for its cost: the next epoch, or leaving the record, draws it then."""
        busy = self.pending_plot is not None and not self.pending_plot.done()
        if busy or time.perf_counter() - self.plot_started < self.plot_seconds / PLOT_SHARE:
            return
        self.finish_plot()
        self.plotted = len(self.log.rows)
        self.pending_plot = self.start(self.plots, self.plot, list(self.log.rows))

    def plot(self, rows):
        self.plot_started = time.perf_counter()
        self.log.plot(rows)
        self.plot_seconds = time.perf_counter() - self.plot_started
