"""Config loading and validation: no TensorFlow needed, so these run in milliseconds."""

import subprocess
import sys
import time

import pytest
import yaml

from settings import config
from settings import schema
import train
from settings.schema import ConfigError
from conftest import ROOT, run_train


def test_config_yaml_equals_the_built_in_defaults():
    assert config.flatten(yaml.safe_load((ROOT / "config.yaml").read_text()), "config.yaml") == \
        {key: setting.default for key, setting in schema.SETTINGS.items()}


def test_overrides_are_read_as_yaml_and_checked():
    cfg = config.load(overrides=["train.epochs=5", "train.generator_lr=2e-4", "model.discriminator_widths=[32, 64]",
                                 "data.limit="])
    assert cfg["train.epochs"] == 5
    assert cfg["train.generator_lr"] == 2e-4
    assert cfg["model.discriminator_widths"] == [32, 64]
    assert cfg["data.limit"] is None


def test_a_partial_config_file_keeps_the_other_defaults(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text("train:\n  epochs: 3\n")
    cfg = config.load(path)
    assert cfg["train.epochs"] == 3
    assert cfg["train.batch_size"] == 256


@pytest.mark.parametrize("override, message", [
    ("train.epochs=0", "train.epochs must be an integer >= 1, got 0"),
    ("train.batch_size=-8", "train.batch_size must be an integer >= 1"),
    ("train.generator_lr=0", "train.generator_lr must be a number > 0"),
    ("train.epochs=ten", "train.epochs must be an integer >= 1, got 'ten'"),
    ("model.dropout=1.0", "model.dropout must be a number in [0.0, 1.0)"),
    ("model.generator_widths=[256, 0, 64]", "model.generator_widths must be a list of positive integers"),
    ("data.dataset=imagenet", "data.dataset must be one of mnist, mnist_sample"),
    ("output.checkpoint_every=0", "output.checkpoint_every must be an integer >= 1"),
    ("output.run_name=a/b", "output.run_name must be a folder name without slashes"),
    ("train.epoch=5", "unknown key train.epoch in the command line (did you mean train.epochs?)"),
    ("epochs", "'epochs' is not a key=value override"),
])
def test_bad_overrides_are_rejected_with_the_key_named(override, message):
    with pytest.raises(schema.ConfigError) as error:
        config.load(overrides=[override])
    assert message in str(error.value)


def test_bad_yaml_names_the_file_and_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("train:\n  epochs: [1, 2\n")
    with pytest.raises(schema.ConfigError, match=r"broken.yaml is not valid YAML at line \d"):
        config.load(path)


def test_config_that_is_not_sections_is_rejected(tmp_path):
    path = tmp_path / "flat.yaml"
    path.write_text("epochs: 5\n")
    with pytest.raises(schema.ConfigError, match="'epochs' must be a section"):
        config.load(path)


@pytest.mark.slow
def test_a_config_error_exits_2_with_one_line_and_no_traceback(tmp_path):
    result = run_train("train.epochs=0", f"output.dir={tmp_path}")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: train.epochs must be an integer >= 1, got 0 (in the command line)"
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
@pytest.mark.parametrize("argv", [["--help"], ["train.epochs=0"],
                                  ["data.dataset=folder", "data.path=/nonexistent/pictures"]])
def test_help_and_config_errors_answer_before_tensorflow_loads(argv):
    code = ("import sys, train\n"
            f"try: train.main({argv!r})\n"
            "except SystemExit as e: print(e.code, 'tensorflow' in sys.modules)")
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.stdout.splitlines()[-1] in ("0 False", "2 False")
    assert time.perf_counter() - started < 2


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "2"], "unknown option --epochs: settings are given as key=value, like train.epochs=2"),
    (["--batch-size=64"], "unknown option --batch-size=64: settings are given as key=value, like train.batch_size=64"),
])
def test_an_option_that_is_a_setting_says_how_settings_are_given(argv, message, capsys):
    with pytest.raises(SystemExit) as stopped:
        train.parse_args(argv)
    assert stopped.value.code == 2 and capsys.readouterr().err.strip() == f"error: {message} (--help lists them all)"


@pytest.mark.slow
def test_missing_config_file_exits_2(tmp_path):
    result = run_train("--config", tmp_path / "nope.yaml")
    assert result.returncode == 2
    assert "nope.yaml not found" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_help_lists_options_and_settings_without_loading_tensorflow():
    result = run_train("--help")
    assert result.returncode == 0
    assert "--resume RUN" in result.stdout and "train.epochs=50" in result.stdout


@pytest.mark.parametrize("overrides, message", [
    (["data.image_size=30"], "data.image_size=30 cannot be built"),
    (["data.dataset=folder"], "data.dataset=folder needs data.path"),
    (["data.dataset=cifar10", "data.path=x"], "data.path is only used with data.dataset=mnist or folder"),
    (["model.generator_widths=[256, 128, 64, 32]"], "28x28 images need 3"),
    (["data.channels=2"], "data.channels must be one of 1, 3 or empty"),
    (["train.augment_target=0.6"], r"train.augment_target=0.6 adapts how often train.augment's operations apply, "
                                   r"and there are none; set train.augment=\[translation,cutout\] too"),
    (["train.penalty_decay=0.9"], r"train.penalty_decay=0.9 lowers the R1 and R2 penalties' gamma, and both are off"),
])
def test_combinations_the_models_cannot_be_built_for_are_refused_before_tensorflow(overrides, message):
    with pytest.raises(ConfigError, match=message):
        config.load(overrides=overrides)


@pytest.mark.parametrize("recipe", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_recipe_is_a_valid_config(recipe, tmp_path):
    for_a_folder = (config.read_yaml(recipe).get("data") or {}).get("dataset") == "folder"  # needs its path
    cfg = config.load(recipe, overrides=[f"data.path={tmp_path}"] if for_a_folder else [])
    assert cfg != config.load()  # it changes something


@pytest.mark.parametrize("recipe, changed", [
    ("colour32.yaml", {"data.image_size": 32, "model.discriminator_widths": [128, 256]}),
    ("colour64.yaml", {"data.image_size": 64, "model.generator_widths": [512, 256, 128], "train.cluster_axes": 0}),
])
def test_a_colour_recipe_is_the_clusters_recipe_with_one_network_wider(recipe, changed, tmp_path):
    # their numbers in docs/colour.md were measured as configs/clusters.yaml with these settings changed
    clusters = config.load(ROOT / "configs" / "clusters.yaml",
                           overrides=["data.dataset=folder", f"data.path={tmp_path}"])
    colour = config.load(ROOT / "configs" / recipe, overrides=[f"data.path={tmp_path}"])
    assert {key: colour[key] for key in colour if colour[key] != clusters[key]} == changed


def test_a_config_file_extends_the_file_its_base_names_and_its_own_keys_win(tmp_path):
    (tmp_path / "recipe.yaml").write_text("train:\n  epochs: 3\n  batch_size: 64\n")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "wider.yaml").write_text("base: ../recipe.yaml\ntrain:\n  epochs: 5\n")
    cfg = config.load(tmp_path / "mine" / "wider.yaml", overrides=["train.seed=4"])  # base: relative to the file
    assert (cfg["train.epochs"], cfg["train.batch_size"], cfg["train.seed"]) == (5, 64, 4)
    assert cfg["train.generator_lr"] == config.load()["train.generator_lr"]  # neither sets it: the default


@pytest.mark.parametrize("files, message", [
    ({"a.yaml": "base: b.yaml\n", "b.yaml": "base: a.yaml\n"},
     r"b.yaml: base: a.yaml makes a loop \(a.yaml -> b.yaml -> a.yaml\)"),
    ({"a.yaml": "base: a.yaml\n"}, r"a.yaml: base: a.yaml makes a loop \(a.yaml -> a.yaml\)"),
    ({"a.yaml": "base: gone.yaml\n"}, r"a.yaml: base: gone.yaml is not a file \(looked for .*gone.yaml\)"),
    ({"a.yaml": "base: [b.yaml]\n"}, r"a.yaml: base: must name the config file this one extends"),
    ({"a.yaml": "base: b.yaml\n", "b.yaml": "train:\n  epoks: 3\n"}, r"unknown key train.epoks in .*b.yaml"),
])
def test_a_base_that_loops_is_missing_or_wrong_is_refused_naming_the_file(files, message, tmp_path):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(ConfigError, match=message):
        config.load(tmp_path / "a.yaml")


def test_a_setting_of_text_takes_a_command_lines_value_as_written():
    cfg = config.load(overrides=["output.run_name=off", "data.background=#80ff00", "eval.classifier=no"])
    assert (cfg["output.run_name"], cfg["data.background"], cfg["eval.classifier"]) == ("off", "#80ff00", "no")
    assert schema.rgb(cfg["data.background"]) == (128, 255, 0) and schema.rgb("white") == (255, 255, 255)
    with pytest.raises(schema.ConfigError, match="data.background must be white, black or a colour as #RRGGBB"):
        config.load(overrides=["data.background=#12345"])


def test_settings_are_read_only_once_loaded_and_what_a_run_finds_is_a_new_mapping():
    user = config.load(overrides=["train.seed="])
    with pytest.raises(TypeError):
        user["train.seed"] = 3  # nothing downstream may change what the user set
    run = config.with_found(user, {"train.seed": 3, "data.image_size": 28})
    assert (run["train.seed"], run["data.image_size"]) == (3, 28) and user["train.seed"] is None
    with pytest.raises(TypeError):
        run["eval.every"] = 0


@pytest.mark.slow
def test_dry_run_prints_the_settings_a_run_would_use_without_tensorflow_or_writing(tmp_path):
    code = ("import sys, train\n"
            f"train.main(['--dry-run', 'data.limit=100', 'train.ema_decay=0.999', 'output.dir={tmp_path / 'out'}'])\n"
            "print('tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"a new run in {tmp_path / 'out'}/") and lines[-1] == "False"
    assert "  data.limit=100" in lines and "  train.ema_decay=0.999" in lines and "  model.conditional=false" in lines
    assert "  data.image_size=28  # empty: the run will find this" in lines  # MNIST's own, known without loading it
    assert "  eval.every=1  # empty: the run will find this" in lines
    assert len([line for line in lines if "=" in line]) == len(schema.SETTINGS)
    assert not (tmp_path / "out").exists()


def test_a_run_folder_without_cluster_axes_resumes_with_k_means_in_all_dimensions(tmp_path):
    """A run folder whose config.yaml has no train.cluster_axes clustered in all dimensions: a resume goes on so,
    unless the command line asks otherwise (a train.* setting, which the checkpoint does not depend on)."""
    from settings import resume
    saved = dict(config.load(overrides=["model.clusters=4"]))
    del saved["train.cluster_axes"]
    config.dump(saved, tmp_path / "config.yaml")
    assert resume.resumed_run(tmp_path, [])["train.cluster_axes"] == 0
    assert resume.resumed_run(tmp_path, ["train.cluster_axes=16"])["train.cluster_axes"] == 16


@pytest.mark.parametrize("key, part", [("train.ema_decay", "the averaged generator"),
                                       ("train.reconstruction_weight", "the decoder"),
                                       ("train.beta2_final", "Adam's moving beta_2")])
def test_a_resume_may_change_a_networks_setting_but_not_switch_the_network_on_or_off(tmp_path, key, part):
    """Such a setting at 0 leaves a part out of the checkpoint (a network, or Adam's beta_2 as a variable)."""
    from settings import resume
    config.dump(dict(config.load(overrides=[f"{key}=0.5"])), tmp_path / "config.yaml")
    assert resume.resumed_run(tmp_path, [f"{key}=0.25"])[key] == 0.25
    with pytest.raises(schema.ConfigError, match=f"{key} cannot be switched off when resuming \\(the checkpoint "
                                                 f"holds {part}\\)"):
        resume.resumed_run(tmp_path, [f"{key}=0"])
