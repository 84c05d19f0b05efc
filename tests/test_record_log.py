"""The run's record: warnings, resume-safe metrics.csv, plot and TensorBoard files."""

import csv

import numpy as np
import tensorflow as tf

from record import columns, log


def row(epoch, d_fake=0.4, entropy=None, min_share=None, frechet=None):
    values = {"epoch": epoch, "seconds": 1.0, "gen_loss": 1.0, "disc_loss": 1.0, "d_real": 0.6, "d_fake": d_fake,
              "real_accuracy": 0.7, "fake_accuracy": 0.9, "gen_grad_norm": 0.5}
    if entropy is not None:
        values.update(frechet_distance=frechet or 50.0, class_entropy=entropy, min_class_share=min_share,
                      classifier_score=5.0)
    return {column: values.get(column) for column in columns.NAMES}


def kinds(rows):
    return [kind for kind, _ in log.balance_warnings(rows)]


def test_discriminator_wins_only_after_patience_epochs_in_a_row():
    assert kinds([row(1, 0.05), row(2, 0.05)]) == []
    assert kinds([row(1, 0.05), row(2, 0.3), row(3, 0.05), row(4, 0.05)]) == []
    assert kinds([row(1, 0.05), row(2, 0.05), row(3, 0.05)]) == ["discriminator_wins"]


def test_a_winning_discriminator_under_the_relativistic_loss_is_not_said_to_fade_the_generators_gradients():
    rows = [row(n, 0.05) for n in (1, 2, 3)]
    (kind, standard), = log.balance_warnings(rows)
    (same_kind, relativistic), = log.balance_warnings(rows, relativistic=True)
    assert kind == same_kind == "discriminator_wins"
    assert "gradients fade" in standard and "gradients fade" not in relativistic
    assert "90% of pairs" in relativistic and "look at the grid" in relativistic


def test_poor_coverage_is_said_once_samples_look_like_digits_for_patience_evaluations():
    def scored(epoch, entropy, min_share, score):
        values = row(epoch, entropy=entropy, min_share=min_share)
        values["classifier_score"] = score
        return values
    noise = [scored(n, 0.1, 0.0, 1.1) for n in (1, 2, 3)]
    assert kinds(noise) == []  # one-class noise at the start is not a collapse
    poor = [scored(n, 0.6, 0.0, 2.5) for n in (4, 5, 6)]
    assert kinds(noise + poor[:2]) == []
    assert kinds(noise + poor) == ["coverage_collapse"]
    assert kinds([scored(n, 0.95, 0.005, 4.0) for n in (7, 8, 9)]) == ["coverage_collapse"]  # one digit missing
    assert kinds([scored(n, 0.95, 0.05, 8.0) for n in (7, 8, 9)]) == []


def test_metrics_csv_is_rewritten_without_duplicates_on_resume_and_warnings_are_said_once(tmp_path):
    picture = np.zeros((10, 10), np.uint8)
    record = log.RunLog(tmp_path, last_epoch=0, real_scores={"frechet_distance": 2.0})
    said = [record.add(row(n, d_fake=0.05, entropy=0.9, min_share=0.05, frechet=100 - n)) for n in (1, 2, 3, 4)]
    for epoch_row in record.rows + record.rows[-1:]:  # the last one twice, as a resumed run could before
        record.write_tensorboard(epoch_row, picture)
    assert [len(s) for s in said] == [0, 0, 1, 0]  # discriminator_wins said at epoch 3 only
    assert "train.discriminator_lr" in said[2][0]

    resumed = log.RunLog(tmp_path, last_epoch=2)  # the checkpoint was at epoch 2
    assert [r["epoch"] for r in resumed.rows] == [1, 2] and resumed.best_frechet == 98
    assert resumed.add(row(3, d_fake=0.05, entropy=0.9, min_share=0.05))  # said again: epoch 3 was undone
    resumed.write_tensorboard(resumed.rows[1], picture)  # epoch 2, written again after a kill: kept once
    resumed.write_tensorboard(resumed.rows[-1], picture)
    resumed.tensorboard.flush()
    resumed.plot(resumed.rows)
    with open(tmp_path / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert list(rows[0]) == columns.NAMES
    assert (tmp_path / "warnings.log").read_text().count("[discriminator_wins]") == 1
    assert (tmp_path / "metrics.png").stat().st_size > 10_000
    points = [(event.step, value.tag) for file in sorted((tmp_path / "tensorboard").iterdir())
              for event in tf.compat.v1.train.summary_iterator(str(file)) for value in event.summary.value]
    assert sorted(set(points)) == sorted(points)  # each epoch's number and picture once
    assert {step for step, _ in points} == {1, 2, 3}  # epoch 4, after the checkpoint, is gone
    assert {tag for step, tag in points if step == 3} >= {"gen_loss", "d_fake", "frechet_distance", "generated"}
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary files left behind
