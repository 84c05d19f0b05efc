"""sweep.py: the combinations, their names, validation before any run, and a sweep continued after a kill."""

import argparse
import os
import signal
import subprocess
import sys

import pytest

from settings import config
from settings import schema
from settings.schema import ConfigError
from output import run_files
import sweep
from conftest import ROOT, TINY


def test_values_split_at_commas_outside_lists_and_every_combination_is_planned():
    assert sweep.split_values("1e-4,2e-4") == ["1e-4", "2e-4"]
    assert sweep.split_values("[64,128],[32,64]") == ["[64,128]", "[32,64]"]
    fixed, swept = sweep.parse_settings(["train.epochs=3", "train.generator_lr=1e-4,2e-4",
                                         "model.discriminator_widths=[64,128],[32,64]"])
    assert fixed == {"train.epochs": "3"}
    combinations = sweep.combinations(swept)
    assert combinations == [
        {"train.generator_lr": "1e-4", "model.discriminator_widths": "[64,128]"},
        {"train.generator_lr": "1e-4", "model.discriminator_widths": "[32,64]"},
        {"train.generator_lr": "2e-4", "model.discriminator_widths": "[64,128]"},
        {"train.generator_lr": "2e-4", "model.discriminator_widths": "[32,64]"}]
    assert run_names("train.epochs=3", "train.generator_lr=1e-4,2e-4",
                     "model.discriminator_widths=[64,128],[32,64]") == [
        "generator_lr-1e-4,discriminator_widths-64+128", "generator_lr-1e-4,discriminator_widths-32+64",
        "generator_lr-2e-4,discriminator_widths-64+128", "generator_lr-2e-4,discriminator_widths-32+64"]
    assert sweep.short_names(["train.seed", "eval.seed"]) == {"train.seed": "train.seed", "eval.seed": "eval.seed"}


def run_names(*settings):
    """The run folders' names sweep.py plans for these settings."""
    folder, runs = sweep.plan(argparse.Namespace(settings=list(settings), config=None, name=None))
    return [run_dir.name for run_dir, _, _ in runs]


def test_two_settings_never_share_a_run_folder(tmp_path, monkeypatch):
    """A name shows a value as written where a folder name can (ordinary values keep the names earlier sweeps
    gave them); a path's slash, a space, capitals (one folder on macOS and Windows) add a hash of the value."""
    monkeypatch.chdir(tmp_path)
    values = ["a/b", "a_b", "a b", "ab", "Photos", "photos", "[x]", "x", "x+y", "[x,y]", "é", "e", "-", "_"]
    for value in values:
        (tmp_path / value).mkdir(parents=True, exist_ok=True)
    paths = run_names("data.dataset=folder", f"data.path={','.join(values)}", f"output.dir={tmp_path}")
    assert len({name.lower() for name in paths}) == len(values)
    assert {"path-a_b", "path-ab", "path-photos", "path-x", "path-e", "path--", "path-_"} <= set(paths)
    assert paths[0].startswith("path-a_b~") and paths[4].startswith("path-Photos~")
    assert all(schema.run_name().convert(name) == name for name in paths)  # each a valid output.run_name
    long_path = tmp_path / ("deep/" * 60)
    long_path.mkdir(parents=True)
    [long_name, _] = run_names("data.dataset=folder", f"data.path={long_path},a_b", f"output.dir={tmp_path}")
    assert len(long_name) < 60  # within a file system's 255 bytes, however long the value

    assert run_names("train.generator_lr=1e-4,2e-4", "train.augment=[translation,cutout],[]", "output.dir=x") == [
        "generator_lr-1e-4,augment-translation+cutout", "generator_lr-1e-4,augment-",
        "generator_lr-2e-4,augment-translation+cutout", "generator_lr-2e-4,augment-"]
    assert run_names("model.discriminator_widths=[64, 32],[16,8]", "data.background=#808080,#FFFFFF") == [
        "discriminator_widths-64+32,background-#808080", "discriminator_widths-64+32,background-#FFFFFF~07ee686b",
        "discriminator_widths-16+8,background-#808080", "discriminator_widths-16+8,background-#FFFFFF~07ee686b"]


@pytest.mark.parametrize("values", ["[64,32],[64, 32]", "1e-4,0.0001", "true,True"])
def test_a_sweep_listing_one_setting_twice_is_refused(values):
    """[64,32] and [64, 32] are one list: one setting, one folder, run once (written either way, a sweep continues
    the other's run)."""
    key = {"[": "model.discriminator_widths", "1": "train.generator_lr", "t": "train.deterministic"}[values[0]]
    with pytest.raises(ConfigError, match=f"^{key} lists one setting twice"):
        run_names(f"{key}={values}")


@pytest.mark.parametrize("settings, message", [
    (["train.epochs=2"], "nothing to sweep"),
    (["train.batch_size=64,0"], "train.batch_size must be an integer >= 1, got 0"),
    (["train.batch_size=64,64"], "lists a value twice"),
    (["train.batch_size=64,128", "train.batch_size=32"], "train.batch_size is given twice"),
    (["train.batch_size=64,128", "output.run_name=x"], "output.run_name is set by the sweep"),
    (["train.batch_size=64,128", "--name", "a/b"], "must be a folder name"),
])
@pytest.mark.slow
def test_every_value_is_checked_before_any_run_one_line_and_exit_2(tmp_path, settings, message):
    result = subprocess.run([sys.executable, str(ROOT / "sweep.py"), *settings, f"output.dir={tmp_path}"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and message in result.stderr
    assert not any(tmp_path.iterdir())  # not one run started


@pytest.mark.slow
def test_a_killed_sweep_continues_with_the_same_command_keeping_its_finished_runs(tmp_path):
    command = [sys.executable, str(ROOT / "sweep.py"), "train.generator_lr=1e-4,2e-4", "data.dataset=mnist_sample",
               "data.limit=64", "train.batch_size=32", "train.epochs=2", "eval.every=0", *TINY, f"output.dir={tmp_path}"]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    folder = tmp_path / "sweep-generator_lr"
    first, second = folder / "generator_lr-1e-4", folder / "generator_lr-2e-4"
    sweeping = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env, start_new_session=True)
    for line in sweeping.stdout:  # killed, with its run, once the second run has begun training
        if line.startswith("epoch 1/2") and second.exists():
            os.killpg(sweeping.pid, signal.SIGKILL)
            break
    sweeping.wait(timeout=60)
    assert sweeping.returncode == -signal.SIGKILL and (first / "generator.keras").is_file()
    kept = {path: path.stat().st_mtime_ns for path in first.rglob("*")}
    again = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert again.returncode == 0, again.stderr
    assert "run 1 of 2: generator_lr-1e-4 is finished already" in again.stdout
    assert {path: path.stat().st_mtime_ns for path in first.rglob("*")} == kept  # not touched
    assert (second / "metrics.csv").read_text().count("\n2,") == 1 and (second / "generator.keras").is_file()
    lines = again.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("run ") and "train.generator_lr" in line)
    rows = {line.split()[0]: line.split()[1] for line in lines[header + 1:header + 3]}  # compare.py's table
    assert rows == {first.name: "0.0001", second.name: "0.0002"}
    assert (folder / "compare.png").stat().st_size > 10_000 and (folder / "compare.csv").read_text().count("\n") == 3


def test_a_sweep_with_a_new_seed_each_run_continues_its_runs_and_refuses_another_sweeps(tmp_path):
    """A run with train.seed empty records the seed it drew in found.yaml: the sweep compares the settings as the
    user set them (config.yaml), so the same command continues the run, and a changed value is refused."""
    settings = ["train.seed=", "train.generator_lr=1e-4,2e-4", f"output.dir={tmp_path}"]
    args = argparse.Namespace(settings=settings, config=None, name=None)
    folder, runs = sweep.plan(args)
    run_dir, _, cfg = runs[0]
    run_dir.mkdir(parents=True)
    config.dump(cfg, run_dir / run_files.CONFIG)
    config.dump({"train.seed": 1234}, run_dir / run_files.FOUND)
    assert [planned[0] for planned in sweep.plan(args)[1]] == [planned[0] for planned in runs]
    with pytest.raises(ConfigError, match=r"exists with train.seed=, where this sweep sets train.seed=7;"):
        sweep.plan(argparse.Namespace(settings=["train.seed=7", *settings[1:]], config=None, name=None))


def test_a_run_left_by_a_sweep_with_other_fixed_settings_is_refused(tmp_path):
    """The folder names only the swept values: a run there is this sweep's only if every other setting is the
    same too, given here or not (train.epochs may grow)."""
    swept = ["train.generator_lr=1e-4,2e-4", f"output.dir={tmp_path}"]
    folder, runs = sweep.plan(argparse.Namespace(settings=["train.batch_size=64", *swept], config=None, name=None))
    run_dir, _, cfg = runs[0]
    run_dir.mkdir(parents=True)
    config.dump(cfg, run_dir / run_files.CONFIG)
    with pytest.raises(ConfigError, match=r"exists with train.batch_size=64, where this sweep sets train.batch_size=256;"):
        sweep.plan(argparse.Namespace(settings=swept, config=None, name=None))
    longer = sweep.plan(argparse.Namespace(settings=["train.batch_size=64", "train.epochs=80", *swept], config=None,
                                           name=None))
    assert longer[1][0][0] == run_dir
