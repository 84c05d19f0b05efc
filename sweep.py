"""Train every combination of some settings, one run after another, then compare them.

  python sweep.py train.generator_lr=1e-4,2e-4 train.batch_size=64,256 train.epochs=5
  python sweep.py --config configs/fast.yaml model.dropout=0,0.3 --name dropout

A setting given several values (commas between them; a list in brackets is one value) is swept; a setting
given one value applies to every run. Each run goes to outputs/SWEEP/RUN, its name made of the values
(like generator_lr-2e-4,batch_size-64; a value a folder name cannot show as written, like a path, adds a short
hash of it: two settings never share a run); SWEEP is --name, or made of the swept keys. When all have run,
compare.py's table is printed and written with its picture (SWEEP/compare.csv, SWEEP/compare.png).

Every combination is validated before the first run starts. Stopped (Ctrl-C, kill, a reboot), the same
command continues: finished runs are skipped, a stopped one resumes from its checkpoint (train.py --resume),
and one stopped before its first checkpoint starts again. A run that fails (diverged, say) is reported and
the sweep goes on. The trade-off: runs go one after another, never side by side; on one machine two runs
at once would only share its cores.
"""

import argparse
import hashlib
import itertools
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import compare
from output import run_files
from settings import command_line, config, schema
from settings.schema import ConfigError
from training import distribute


ROOT = Path(__file__).resolve().parent
OWN_KEYS = ("output.run_name",)  # each run's is its values'


def split_values(text):
    """'1e-4,2e-4' -> ['1e-4', '2e-4']; commas inside brackets belong to a list: '[64,128],[32,64]' is two."""
    values, depth, current = [], 0, ""
    for char in text:
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            values.append(current)
            current = ""
        else:
            current += char
    return values + [current]


def parse_settings(items):
    """key=value texts -> (fixed {key: text}, swept {key: [texts]}), each key once."""
    fixed, swept = {}, {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"'{item}' is not a setting; write key=value, or key=value1,value2 to sweep it")
        if key in fixed or key in swept:
            raise ConfigError(f"{key} is given twice; give it once, its values separated by commas")
        if key in OWN_KEYS:
            raise ConfigError(f"{key} is set by the sweep (each run is named by its values); use --name for the sweep")
        values = split_values(value)
        if len(values) > 1:
            if len(set(values)) < len(values):
                raise ConfigError(f"{key} lists a value twice ({value}); give each value once")
            swept[key] = values
        else:
            fixed[key] = value
    if not swept:
        raise ConfigError("nothing to sweep: give at least one setting several values, like train.batch_size=64,256")
    return fixed, swept


def combinations(swept):
    """Every combination of the swept values, the first key's values changing slowest."""
    found = [{}]
    for key, values in swept.items():
        found = [{**combination, key: value} for combination in found for value in values]
    return found


def short_names(keys):
    """Each key's last part (train.batch_size -> batch_size), or the whole key where two would read alike."""
    last = [key.split(".")[-1] for key in keys]
    return {key: part if last.count(part) == 1 else key for key, part in zip(keys, last)}


# A value a run's name shows as written: lower case (macOS and Windows take Photos and photos for one folder), and
# none of the characters the name is built with: "," between settings, "+" between a list's items, "~" before a hash.
PLAIN = re.compile(r"[a-z0-9._#-]*")
READABLE = 32  # characters of another value shown before its hash: a name stays far within a file system's 255


def value_name(text, value, as_written):
    """A swept value as its run's name shows it, different for every different setting of its key:
    - a plain value (PLAIN: 1e-4, mnist_sample, #808080) as written;
    - a list, its items between + ([64,128] and [64, 128] are one list, one setting: 64+128);
    - any other value readably (its other characters as _, at most READABLE of them), then ~ and 8 hex digits of
      a hash of its exact text: data.path=a/b is a_b~c14cddc0, a_b is a_b, 1E-4 is not 1e-4.
    `value` is the setting `text` is read as; `as_written` says its key takes the text whole (data.path, as
    settings/schema.py's text settings do; YAML drops the spaces around any other value). A key's values are all
    lists or none: each rule of settings/schema.py gives one kind."""
    if isinstance(value, list) and all(PLAIN.fullmatch(str(item)) for item in value):
        return "+".join(map(str, value))
    exact = text if as_written else text.strip()
    if PLAIN.fullmatch(exact):
        return exact
    readable = re.sub(r"[^A-Za-z0-9._#-]+", "_", exact)[:READABLE]
    return f"{readable}~{hashlib.sha256(exact.encode()).hexdigest()[:8]}"


def run_name(combination, names, cfg):
    """generator_lr-2e-4,batch_size-64: each swept key's short name and its value_name in the run's settings
    `cfg`. Two runs of a sweep share a folder only if they are one setting, and a sweep never lists one twice."""
    return ",".join(f"{names[key]}-{value_name(text, cfg[key], schema.SETTINGS[key].rule.text)}"
                    for key, text in combination.items())


def check_distinct(swept, read):
    """A ConfigError if two values of a key are one setting (1e-4 and 0.0001, [64,32] and [64, 32]): listed twice.
    `read`: each combination of the swept values and the settings it is read as."""
    for key, texts in swept.items():
        setting = {combination[key]: cfg[key] for combination, cfg in read}
        for first, second in itertools.combinations(texts, 2):
            if setting[first] == setting[second]:
                raise ConfigError(f"{key} lists one setting twice ({first} and {second} are both "
                                  f"{setting[first]!r}); give each value once")


def plan(args):
    """The sweep's folder and its runs: (run directory, settings for train.py, validated config) each, every
    combination checked as train.py would check it, and runs already there checked to be this sweep's."""
    fixed, swept = parse_settings(args.settings)
    base = [f"{key}={value}" for key, value in fixed.items()]
    names = short_names(list(swept))
    runs, read = [], []
    for combination in combinations(swept):
        settings = base + [f"{key}={value}" for key, value in combination.items()]
        try:
            cfg = config.load(args.config or config.DEFAULT_FILE, settings)
            distribute.check(cfg)
        except ConfigError as e:
            raise ConfigError(f"{e} (in the run {', '.join(f'{k}={v}' for k, v in combination.items())})") from None
        runs.append((run_name(combination, names, cfg), settings, cfg))
        read.append((combination, cfg))
    check_distinct(swept, read)
    if args.name is not None and schema.run_name().convert(args.name) is None:
        raise ConfigError(f"--name {args.name} must be a folder name, not a path (it goes in output.dir)")
    folder = Path(runs[0][2]["output.dir"]) / (args.name or "sweep-" + "-".join(names.values()))
    planned = []
    for name, settings, cfg in runs:
        run_dir = folder / name
        if (run_dir / run_files.CONFIG).is_file():
            check_same_run(run_dir, cfg)
        planned.append((run_dir, settings, cfg))
    return folder, planned


def check_same_run(run_dir, cfg):
    """A run already in the sweep's folder must be the one this sweep would start: the same value of every
    setting, given on the command line, in --config or left to config.yaml (the folder's name shows only the swept
    ones; train.epochs may grow)."""
    user, found = config.saved_parts(run_dir)
    saved = config.load(base=user)  # as its user set them, not what it found out
    chosen = found.get("eval.features", "classifier")  # what auto chose (a run made before auto: a classifier)
    for key in cfg:
        # mnist without internet trains on the bundled sample: a run folder made before found.yaml says so here
        if key != "train.epochs" and not key.startswith("output.") and cfg[key] != saved[key] \
                and (cfg[key], saved[key]) != ("mnist", "mnist_sample") \
                and not (key == "eval.features" and cfg[key] == "auto" and saved[key] == chosen):
            raise ConfigError(f"{run_dir} exists with {key}={as_written(saved[key])}, where this sweep sets "
                              f"{key}={as_written(cfg[key])}; give the sweep another --name, or delete {run_dir}")


def as_written(value):
    """A setting's value as a command line gives it: an empty train.seed is nothing after the =, not None."""
    return "" if value is None else value


def epochs_done(run_dir):
    return len(compare.read_run(run_dir)["rows"]) if (run_dir / run_files.METRICS).is_file() else 0


class Stop:
    """Ctrl-C reaches train.py too (the terminal signals both), which stops with a checkpoint; a SIGTERM sent to
    the sweep alone is passed on to its run. Either way the sweep then stops."""

    child = None
    number = None

    def __init__(self):
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, self.request)

    def request(self, number, frame):
        self.number = number
        if number == signal.SIGTERM and self.child is not None and self.child.poll() is None:
            self.child.send_signal(number)


def train_run(run_dir, settings, cfg, config_file, stop):
    """train.py for one run: started, resumed or (stopped before it saved its settings) started again. Its exit code."""
    command = [sys.executable, str(ROOT / "train.py")]
    if run_files.is_resumable(run_dir):
        command += ["--resume", str(run_dir), f"train.epochs={cfg['train.epochs']}"]
    else:
        if run_dir.exists():
            shutil.rmtree(run_dir)  # stopped before it saved its settings: nothing to resume
        command += (["--config", str(config_file)] if config_file else []) + settings + [
            f"output.dir={run_dir.parent}", f"output.run_name={run_dir.name}"]
    stop.child = subprocess.Popen(command)
    code = stop.child.wait()
    stop.child = None
    return code


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("settings", nargs="+", metavar="key=value[,value...]",
                        help="a setting with several values is swept; with one, it applies to every run")
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="YAML config the runs start from (default: config.yaml)")
    parser.add_argument("--name", metavar="NAME",
                        help="the sweep's folder in output.dir (default: sweep- and the swept keys)")
    args = command_line.parse_arguments(parser, argv)
    try:
        folder, runs = plan(args)
    except ConfigError as e:
        command_line.fail(str(e))
    stop, failed = Stop(), []
    print(f"sweep {folder}: {len(runs)} runs", flush=True)
    for number, (run_dir, settings, cfg) in enumerate(runs, 1):
        if stop.number is not None:
            break
        if run_files.is_finished(run_dir, cfg["train.ema_decay"]) and epochs_done(run_dir) >= cfg["train.epochs"]:
            print(f"run {number} of {len(runs)}: {run_dir.name} is finished already", flush=True)
            continue
        print(f"run {number} of {len(runs)}: {run_dir.name}", flush=True)
        code = train_run(run_dir, settings, cfg, args.config, stop)
        if code >= 128 or code < 0 or stop.number is not None:
            stop.number = stop.number or signal.SIGINT
        elif code != 0:
            failed.append(run_dir.name)
    if stop.number is not None:
        print("sweep stopped; the same command continues it (finished runs are kept, a stopped one resumes)",
              file=sys.stderr)
        sys.exit(128 + stop.number)
    print(f"\nsweep {folder}: {len(runs)} runs" + (f"; failed (their output says why): {', '.join(failed)}"
                                                   if failed else ""), flush=True)
    shown = [str(run_dir) for run_dir, _, _ in runs if (run_dir / run_files.METRICS).is_file()]
    if shown:
        plot, table = folder / "compare.png", folder / "compare.csv"
        compare.main(shown + ["--out", str(plot), "--csv", str(table)])
        print(f"wrote {plot} and {table}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
