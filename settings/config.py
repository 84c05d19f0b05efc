"""A run's settings read and written: defaults <- a YAML file <- `key=value` overrides, each checked against its
rule in schema.py; a run folder's config.yaml (as its user set them) and found.yaml (what it found out for the
ones left to it) read back.

`config.yaml` mirrors the defaults with comments (a test keeps the two equal), so a config file only needs the
keys it changes; one may name another it extends (`base: clusters.yaml`), so a recipe built on a recipe states only
what it adds. Nothing here imports TensorFlow: a typo in a key fails in milliseconds, not after TensorFlow's
start-up. The trade-off: a new setting is declared twice, in schema.py and in `config.yaml`.
"""

import types
from pathlib import Path

import yaml

from output import atomic, run_files
from settings.schema import SETTINGS, ConfigError, check, check_combination


DEFAULT_FILE = Path(__file__).resolve().parents[1] / run_files.CONFIG  # what train.py and train_classifier.py read;
# a run saves its own settings under the same name


def defaults():
    """The default config as nested sections, like config.yaml."""
    return nest({key: setting.default for key, setting in SETTINGS.items()})


def nest(flat):
    sections = {}
    for key, value in flat.items():
        section, name = key.split(".")
        sections.setdefault(section, {})[name] = value
    return sections


def flatten(sections, source):
    """{'train': {'epochs': 5}} -> {'train.epochs': 5}; anything else is a ConfigError naming `source`."""
    if sections is None:
        return {}
    if not isinstance(sections, dict):
        raise ConfigError(f"{source} must be a mapping of sections (data:, model:, train:, eval:, output:), "
                          f"got {type(sections).__name__}")
    flat = {}
    for section, values in sections.items():
        if not isinstance(values, dict):
            known = sorted({key.split(".")[0] for key in SETTINGS})
            raise ConfigError(f"{source}: '{section}' must be a section with keys under it "
                              f"(sections: {', '.join(known)})")
        for name, value in values.items():
            flat[f"{section}.{name}"] = value
    return flat


def saved(run_dir):
    """The settings a run ran with, flat: what its user set (config.yaml) with what it found out (found.yaml)."""
    user, found = saved_parts(run_dir)
    return {**user, **found}


def saved_parts(run_dir):
    """A run's settings as its user set them (config.yaml), and what it found out for the ones left to it
    (found.yaml: its images' shape, the dataset really used, its seed, its evaluation interval). A run folder made
    before found.yaml existed keeps both in config.yaml."""
    path, found = Path(run_dir) / run_files.CONFIG, Path(run_dir) / run_files.FOUND
    return (flatten(read_yaml(path), str(path)),
            flatten(read_yaml(found), str(found)) if found.is_file() else {})


def read_yaml(path):
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found; pass an existing file with --config") from None
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror}") from None
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        line = f" at line {where.line + 1}" if where else ""
        raise ConfigError(f"{path} is not valid YAML{line}: {getattr(e, 'problem', e)}; fix the syntax") from None


BASE = "base"  # a config file's key naming the file it extends


def read_file(path, extending=()):
    """A config file's settings, flat and checked, on top of those of the file its `base:` names (a path relative to
    it), which may name another: `extending` holds the files that named this one, so a loop is refused."""
    path = Path(path).expanduser()
    sections = read_yaml(path)
    if not (isinstance(sections, dict) and BASE in sections):
        return check(flatten(sections, str(path)), str(path))
    sections = dict(sections)
    base = sections.pop(BASE)
    if not isinstance(base, str) or not base.strip():
        raise ConfigError(f"{path}: base: must name the config file this one extends, like base: clusters.yaml")
    base_path = (path.parent / base).resolve()
    if not base_path.is_file():
        raise ConfigError(f"{path}: base: {base} is not a file (looked for {base_path}); name a config file, "
                          f"relative to this one")
    chain = (*extending, path.resolve())
    if base_path in chain:
        loop = " -> ".join(step.name for step in (*chain, base_path))
        raise ConfigError(f"{path}: base: {base} makes a loop ({loop}); remove one of its base: keys")
    return {**read_file(base_path, chain), **check(flatten(sections, str(path)), str(path))}


def parse_override(text_):
    """'train.epochs=5' -> ('train.epochs', 5), the value read as YAML so numbers and lists work, except for a
    setting of text, which takes it as written (output.run_name=off, data.background=#808080)."""
    key, sep, value = text_.partition("=")
    if not sep or not key:
        raise ConfigError(f"'{text_}' is not a key=value override; write it like train.epochs=5")
    key = key.strip()
    if not value.strip():
        return key, None
    if key in SETTINGS and SETTINGS[key].rule.text:
        return key, value
    try:
        return key, yaml.safe_load(value)
    except yaml.YAMLError:
        raise ConfigError(f"the value in '{text_}' is not valid YAML; quote it or fix it") from None


def load(path=None, overrides=(), base=None):
    """Defaults <- the file at `path` (or `base`, an already-flat config) <- `key=value` overrides, checked, and
    read-only from then on: what a run finds out (its images' shape, its seed...) goes into a new mapping made by
    with_found, by the training loop (settings.run.RunSettings.finding), not into the user's settings."""
    flat = {key: setting.default for key, setting in SETTINGS.items()}
    if base is not None:
        flat.update(check(base, "the run's config.yaml"))
    if path is not None:
        flat.update(read_file(path))
    for item in overrides:
        key, value = parse_override(item)
        flat.update(check({key: value}, "the command line"))
    check_combination(flat)
    return types.MappingProxyType(flat)


def with_found(cfg, found):
    """The settings `cfg` with what a run found out for the ones left to it (`found`: key -> value), read-only."""
    return types.MappingProxyType({**cfg, **found})


def dump(flat, path):
    """Write the config as YAML, whole or not at all."""
    atomic.write(path, lambda temporary: temporary.write_text(
        yaml.safe_dump(nest(flat), sort_keys=False, default_flow_style=None), encoding="utf-8"))
