"""compare.py: which settings differ, ranking within runs scored alike, the table, the picture, bad paths."""

import csv
import subprocess
import sys
import time

import pytest
import yaml

import compare
from settings import config
from conftest import ROOT


def make_run(folder, name, sections, distances, scores=None, finished=True, warnings=0):
    """A run directory as train.py leaves it: config.yaml (only `sections`), found.yaml (eval.features=auto as
    the run resolved it: these runs' data all have labels), metrics.csv, warnings.log."""
    run = folder / name
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(yaml.safe_dump({"output": {"run_name": name}, **sections}))
    if "features" not in sections.get("eval", {}):
        (run / "found.yaml").write_text(yaml.safe_dump({"eval": {"features": "classifier"}}))
    with open(run / "metrics.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, ["epoch", "seconds", "frechet_distance", "precision", "recall", "classifier_score",
                                    "min_class_share", "label_accuracy"])
        writer.writeheader()
        for epoch, distance in enumerate(distances, 1):
            writer.writerow({"epoch": epoch, "seconds": 60.0, "frechet_distance": distance, "precision": epoch / 8,
                             "recall": epoch / 4 - 0.25, "min_class_share": 0.05, "label_accuracy": "",
                             "classifier_score": (scores or [5.0] * len(distances))[epoch - 1]})
    if warnings:
        (run / "warnings.log").write_text("".join(f"epoch {n} [kind] text\n" for n in range(1, warnings + 1)))
    if finished:
        (run / "generator.keras").write_bytes(b"")
    return run


def test_only_the_settings_that_differ_are_shown_defaults_filling_what_a_file_leaves_out(tmp_path):
    make_run(tmp_path, "a", {"train": {"batch_size": 256, "generator_lr": 2e-4}}, [50.0])  # 256: the default
    make_run(tmp_path, "b", {"model": {"discriminator_widths": [64, 256]}}, [40.0])
    make_run(tmp_path, "c", {"train": {"generator_lr": 2e-4}, "model": {"discriminator_widths": [64, 128]}}, [45.0])
    runs = [compare.read_run(run) for run in compare.find_runs([tmp_path])]
    assert compare.differing(runs) == ["model.discriminator_widths", "train.generator_lr"]
    assert [run["settings"]["train.batch_size"] for run in runs] == [256, 256, 256]


def test_runs_are_ranked_by_best_distance_within_runs_scored_alike_only(tmp_path, capsys):
    make_run(tmp_path, "worse", {"train": {"seed": 1}}, [90.0, 30.0, 35.0], warnings=2)
    make_run(tmp_path, "better", {"train": {"seed": 2}}, [80.0, 20.0], finished=False)
    make_run(tmp_path, "inception", {"eval": {"features": "inception"}}, [5.0])  # another judge: its own table
    make_run(tmp_path, "other_size", {"data": {"image_size": 32}}, [5.0])  # the same data, another evaluator
    loose = {"data": {"dataset": "folder", "path": "digits"}, "eval": {"classifier": "mnist"}}
    make_run(tmp_path, "loose", loose, [25.0])  # unlabelled digits judged by the committed classifier: ranked
    compare.main([str(tmp_path), "--csv", str(tmp_path / "table.csv")])
    printed = capsys.readouterr().out
    assert "group 1 of 3, scored by the classifier mnist in evaluator/, 2000 samples: not ranked against" in printed
    assert "group 2 of 3, scored by Inception (ImageNet weights)" in printed
    with open(tmp_path / "table.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(row["group"], row["run"]) for row in rows] == [
        ("1", "better"), ("1", "loose"), ("1", "worse"), ("2", "inception"), ("3", "other_size")]
    worse = rows[2]
    assert (worse["best_fd"], worse["best_epoch"], worse["last_fd"], worse["epochs"], worse["warnings"]) == \
        ("30.0", "2", "35.0", "3", "2")
    assert (float(worse["precision"]), float(worse["recall"])) == (0.375, 0.5)  # the last epoch's
    assert worse["state"] == "finished" and rows[0]["state"] in ("running", "stopped (2/50)")
    assert worse["train.seed"] == "1" and worse["eval.features"] == "classifier"


def test_runs_scored_by_two_evaluators_of_one_name_are_not_ranked_together(tmp_path, capsys):
    for name, identity in (("a", "a1b2c3d4e5f6"), ("b", "0123456789ab"), ("c", "a1b2c3d4e5f6")):
        make_run(tmp_path, name, {}, [30.0])
        (tmp_path / name / "found.yaml").write_text(yaml.safe_dump(
            {"eval": {"features": "classifier", "evaluator_id": identity}}))  # as train.py records them
    compare.main([str(tmp_path), "--csv", str(tmp_path / "table.csv")])
    assert "group 1 of 2, scored by the classifier mnist in evaluator/, 2000 samples (evaluator_id a1b2c3d4e5f6)" \
        in capsys.readouterr().out
    with open(tmp_path / "table.csv", newline="") as f:
        assert [(row["group"], row["run"]) for row in csv.DictReader(f)] == [("1", "a"), ("1", "c"), ("2", "b")]


def test_a_run_without_an_evaluator_id_joins_runs_of_one_recorded_id_and_stays_apart_from_two():
    def run(name, identity=None):
        found = {"eval.features": "classifier", **({"eval.evaluator_id": identity} if identity else {})}
        return {"name": name, "settings": config.with_found(config.load(), found)}

    def names(split):
        return sorted(sorted(run["name"] for run in runs) for _, runs in split)
    assert names(compare.groups([run("old"), run("a", "a1b2c3d4e5f6")])) == [["a", "old"]]
    assert names(compare.groups([run("old"), run("a", "a1b2c3d4e5f6"), run("b", "0123456789ab")])) == [
        ["a"], ["b"], ["old"]]


def test_the_picture_has_the_curves_of_every_run(tmp_path):
    make_run(tmp_path, "a", {"train": {"seed": 1}}, [90.0, 30.0])
    make_run(tmp_path, "b", {"train": {"seed": 2}}, [80.0, 20.0])
    compare.main([str(tmp_path), "--out", str(tmp_path / "cmp.png")])
    assert (tmp_path / "cmp.png").stat().st_size > 10_000


@pytest.mark.slow
@pytest.mark.parametrize("layout, message", [
    ("empty", "no runs in"), ("missing", "does not exist"), ("no_metrics", "has no metrics.csv")])
def test_a_path_without_runs_or_a_run_without_metrics_is_one_line_and_exit_2(tmp_path, layout, message):
    (tmp_path / "empty").mkdir()
    run = make_run(tmp_path / "runs", "no_metrics", {}, [1.0])
    (run / "metrics.csv").unlink()
    path = {"empty": tmp_path / "empty", "missing": tmp_path / "missing", "no_metrics": run}[layout]
    result = subprocess.run([sys.executable, str(ROOT / "compare.py"), str(path)], capture_output=True, text=True)
    assert result.returncode == 2 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_fifty_runs_answer_at_once_without_tensorflow(tmp_path):
    for k in range(50):
        make_run(tmp_path, f"run{k:02d}", {"train": {"seed": k}}, [100.0 - epoch for epoch in range(50)])
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", "import sys, compare; compare.main(sys.argv[1:]); "
                             "assert 'tensorflow' not in sys.modules", str(tmp_path)],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert time.perf_counter() - started < 2 and len(result.stdout.splitlines()) == 51
