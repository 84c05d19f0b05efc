"""Compare runs: which is better, by how much, and what differs between them.

  python compare.py outputs/                       every run in outputs/, best Fréchet distance first
  python compare.py outputs/a outputs/b --out cmp.png --csv cmp.csv

One row per run: only the settings that differ between the runs (read from each run's config.yaml, with
the defaults filling what a file leaves out), the epochs done, the epochs' time, the best Fréchet distance
and its epoch, the last one, the other numbers of its last scored epoch that record/columns.py marks for it
(precision, recall, density, coverage, the rarest class, the classifier score; the label accuracy for
conditional runs; the rarest mode for runs scored by a random network), the number of warnings, and whether the run finished. Runs scored differently (another
evaluator, another image size, another number of samples) are not ranked against each other: each such group
gets a table of its own. --out draws the distance (and the classifier score) against epochs and against the
epochs' time, one line per run; --csv writes the table.

It reads CSV and YAML only (no TensorFlow), so it answers at once. "running" means the run has not
finished and its metrics.csv changed within the last three of its epochs' time: a guess from the files,
as nothing else says whether a process is still writing them.
"""

import argparse
import csv
import time
from pathlib import Path

from output import run_files
from record.columns import COLUMNS
from settings import command_line, config, schema
from settings.schema import ConfigError


NOT_SETTINGS = ("output.run_name", "output.dir")  # each run's own, never what was compared
SHOWN = [column for column in COLUMNS if column.compare]  # the scores the table shows, by the header they get
FORMATS = {column.compare_name or column.name: column.compare for column in SHOWN}


def find_runs(paths):
    """The run directories among `paths`: each a run (it has a config.yaml) or a folder of runs."""
    runs = []
    for path in paths:
        if (path / run_files.CONFIG).is_file():
            runs.append(path)
        elif path.is_dir():
            runs += sorted(child for child in path.iterdir() if (child / run_files.CONFIG).is_file())
        else:
            raise ConfigError(f"{path} does not exist; pass run directories (outputs/RUN) or a folder of them")
    if not runs:
        raise ConfigError(f"no runs in {', '.join(map(str, paths))} (a run directory has a config.yaml); "
                          f"pass run directories or the folder holding them, like outputs/")
    return runs


def number(text):
    return float(text) if text not in ("", None) else None


def read_run(run):
    """A run's settings (defaults filled in), its metrics.csv rows as numbers, its warnings and its state."""
    settings = {key: setting.default for key, setting in schema.SETTINGS.items()}
    settings.update(config.saved(run))
    if not (run / run_files.METRICS).is_file():
        raise ConfigError(f"{run} has no metrics.csv: it stopped before its first epoch ended; delete it, or "
                          f"leave it out of the comparison")
    with open(run / run_files.METRICS, newline="") as f:
        rows = [{key: int(value) if key == "epoch" else number(value) for key, value in row.items()}
                for row in csv.DictReader(f)]
    warnings = (run / run_files.WARNINGS).read_text().splitlines() if (run / run_files.WARNINGS).is_file() else []
    finished = (run / run_files.GENERATOR).is_file()
    epoch_time = sum(row["seconds"] or 0 for row in rows)
    recent = rows and time.time() - (run / run_files.METRICS).stat().st_mtime < 3 * (rows[-1]["seconds"] or 0)
    state = "finished" if finished else "running" if recent else f"stopped ({len(rows)}/{settings['train.epochs']})"
    return {"name": run.name, "settings": settings, "rows": rows, "warnings": len(warnings), "state": state,
            "epoch_time": epoch_time}


def differing(runs):
    """The settings whose values are not the same in every run (lists compared whole), in config order."""
    keys = [key for key in runs[0]["settings"] if key not in NOT_SETTINGS]
    keys += [key for run in runs for key in run["settings"] if key not in keys and key not in NOT_SETTINGS]
    return [key for key in keys if len({repr(run["settings"].get(key)) for run in runs}) > 1]


def summary(run, keys):
    """The table's row for a run: its differing settings, then its numbers."""
    rows = run["rows"]
    scored = [row for row in rows if row.get("frechet_distance") is not None]
    best = min(scored, key=lambda row: row["frechet_distance"], default=None)
    last = scored[-1] if scored else {}
    found = {"run": run["name"], **{key: run["settings"].get(key) for key in keys},
             "epochs": rows[-1]["epoch"] if rows else 0, "minutes": round(run["epoch_time"] / 60, 1),
             "best_fd": best and best["frechet_distance"], "best_epoch": best and best["epoch"],
             "last_fd": last.get("frechet_distance")}
    for column in SHOWN:  # the last scored epoch's numbers (record/columns.py)
        if not column.compare_if_any or any(row.get(column.name) is not None for row in rows):
            found[column.compare_name or column.name] = last.get(column.name)
    return {**found, "warnings": run["warnings"], "state": run["state"]}


def judge(settings):
    """What scores a run's images, in words: two runs' numbers compare only if this is the same (as
    quality/evaluators.py chooses, without reading a folder: a folder's own classifier or features are named by
    its path; eval.features=auto as the run resolved it, in its found.yaml), down to the evaluator_id recorded
    there: an evaluator made again under the same name scores otherwise."""
    identity = settings.get("eval.evaluator_id")
    return evaluator_in_words(settings) + (f" (evaluator_id {identity})" if identity else "")


def groups(runs):
    """Runs split by what scores them (judge): each group's numbers compare, another group's do not. A run folder
    that recorded no evaluator_id joins the runs of the same words if they recorded one id only (else it stays
    apart: which of them scored it is unknown)."""
    found = {}  # (evaluator in words, evaluator_id or None) -> runs
    for run in runs:
        settings = run["settings"]
        found.setdefault((evaluator_in_words(settings), settings.get("eval.evaluator_id")), []).append(run)
    for words, identity in list(found):
        recorded = [key for key in found if key[0] == words and key[1]]
        if identity is None and len(recorded) == 1:
            found[recorded[0]] += found.pop((words, None))
    return [(judge(runs[0]["settings"]), runs) for runs in found.values()]


def evaluator_in_words(settings):
    size, channels = schema.image_shape(settings)
    shape = f"{size}x{size}x{channels}"
    if settings["eval.features"] == "inception":
        return (f"Inception ({settings['eval.inception_weights'] or 'ImageNet weights'}) against the training "
                f"images of {settings['data.path'] or settings['data.dataset']} (limit {settings['data.limit']}), "
                f"{shape}, {settings['eval.num_samples']} samples")
    if settings["eval.features"] == "random_network":
        return (f"a random network's features for {settings['data.path'] or settings['data.dataset']}, {shape}, "
                f"in {settings['eval.evaluator_dir'] or 'evaluator/'}, {settings['eval.num_samples']} samples")
    if settings["eval.classifier"] not in ("auto", "existing"):
        name = settings["eval.classifier"]
    elif settings["data.dataset"] in ("mnist", "mnist_sample") and shape == "28x28x1":
        name = "mnist"
    else:
        name = f"{settings['data.path'] or settings['data.dataset']}'s own, {shape}"
    return (f"the classifier {name} in {settings['eval.evaluator_dir'] or 'evaluator/'}, "
            f"{settings['eval.num_samples']} samples")


def ranked(runs, keys):
    table = [summary(run, keys) for run in runs]
    return sorted(table, key=lambda row: (row["best_fd"] is None, row["best_fd"] or 0))


def shown(value, column):
    if value is None:
        return "–"
    if isinstance(value, float):
        if "." in column or column == "minutes":  # a setting (train.generator_lr): as it was given
            return f"{value:g}"
        return f"{value:{FORMATS.get(column, '.1f')}}"
    return str(value).replace(", ", ",") if isinstance(value, list) else str(value)


def print_table(table):
    columns = list(dict.fromkeys(column for row in table for column in row))
    cells = [[shown(row.get(column), column) for column in columns] for row in table]
    widths = [max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)]
    print("  ".join(column.ljust(width) for column, width in zip(columns, widths)))
    for line in cells:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths)))


def write_csv(path, tables):
    columns = list(dict.fromkeys(column for table in tables for row in table for column in row))
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, ["group"] + columns, lineterminator="\n")
        writer.writeheader()
        for number_, table in enumerate(tables, 1):
            writer.writerows({"group": number_, **row} for row in table)


def plot(path, runs, keys):
    """The Fréchet distance and classifier score of each run against epochs and against its epochs' time."""
    from matplotlib.figure import Figure

    from record import axes
    figure = Figure(figsize=(12, 7))
    grid = figure.subplots(2, 2)
    for run in runs:
        scored = [row for row in run["rows"] if row.get("frechet_distance") is not None]
        elapsed, minutes = 0.0, {}
        for row in run["rows"]:
            elapsed += row["seconds"] or 0
            minutes[row["epoch"]] = elapsed / 60
        label = run["name"] + "".join(f"  {key.split('.')[1]}={run['settings'].get(key)}" for key in keys)
        for column, (by_epoch, by_time) in (("frechet_distance", grid[0]), ("classifier_score", grid[1])):
            points = [row for row in scored if row.get(column) is not None]
            by_epoch.plot([row["epoch"] for row in points], [row[column] for row in points], "o-", markersize=2,
                          label=label)
            by_time.plot([minutes[row["epoch"]] for row in points], [row[column] for row in points], "o-",
                         markersize=2, label=label)
    for axis, title in zip(grid.flat, ("Fréchet distance by epoch (lower is better)", "by the epochs' time",
                                       "classifier score by epoch (higher is better)", "by the epochs' time")):
        axis.set_title(title)
        axis.grid(alpha=0.3)
    for (column, log_if_wide), row in zip((("frechet_distance", True), ("classifier_score", False)), grid):
        for axis in row:
            axes.value_axis(axis, [r.get(column) for run in runs for r in run["rows"]], log_if_wide)
    for axis in grid[1]:
        axis.set_xlabel("epoch" if axis is grid[1][0] else "minutes of epochs")
    for axis in grid[:, 0]:
        axes.epoch_axis(axis, [row["epoch"] for run in runs for row in run["rows"]])  # whole epochs, also short runs
    grid[0][0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=80)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN", help="run directories, or folders of them")
    parser.add_argument("--out", type=Path, metavar="FILE.png", help="draw the runs' curves into this PNG")
    parser.add_argument("--csv", type=Path, metavar="FILE", help="write the table as CSV")
    args = parser.parse_args(argv)
    try:
        for path in (args.out, args.csv):
            if path is not None and not path.parent.is_dir():
                raise ConfigError(f"the folder of {path} does not exist; create it or choose another path")
        runs = [read_run(run) for run in find_runs(args.runs)]
        keys = differing(runs)
        tables = []
        split = groups(runs)
        for number_, (scored_by, group) in enumerate(split, 1):
            if len(split) > 1:
                print(f"{'' if number_ == 1 else chr(10)}group {number_} of {len(split)}, scored by {scored_by}: "
                      f"not ranked against the other group{'s' if len(split) > 2 else ''}")
            tables.append(ranked(group, keys))
            print_table(tables[-1])
        if args.csv:
            write_csv(args.csv, tables)
        if args.out:
            plot(args.out, runs, keys)
    except ConfigError as e:
        command_line.fail(str(e))
    except OSError as e:
        command_line.fail(f"cannot write {e.filename}: {e.strerror}")


if __name__ == "__main__":
    main()
