"""Train the TensorFlow tutorial's DCGAN on MNIST digits.

Each epoch draws a grid of digits from one fixed noise batch (images/epoch_NNNN.png), adds it to
progress.gif, scores the digits' quality and the two networks' balance (metrics.csv, metrics.png,
TensorBoard, warnings) and saves a checkpoint. Ctrl-C stops after the steps under way (one call of
train.steps_per_call steps) with a checkpoint; --resume continues any stopped or killed run
exactly. The trained generator ends in generator.keras, the settings in config.yaml (and what the
run found out for those left empty in found.yaml), all in the run directory. --dry-run prints the
settings a run would use and stops.
"""

import signal
import sys
from pathlib import Path

from output import run_files
from quality import interval
from settings import command_line, config, resume, schema
from settings.schema import ConfigError
from training import distribute, tflog
from training.stopping import Stopped, StopRequests, TrainingDiverged


def parse_args(argv=None):
    parser = command_line.argument_parser(__doc__)
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="YAML config; keys it leaves out keep those of the file its base: names, or the defaults "
                             "(default: config.yaml)")
    parser.add_argument("--resume", type=Path, metavar="RUN",
                        help="continue the run in directory RUN from its last checkpoint, with its saved config")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the settings the run would use, and what it would find out for the empty "
                             "ones, then stop (TensorFlow is not loaded; nothing is written)")
    parser.add_argument("overrides", nargs="*", metavar="key=value",
                        help="override one setting, e.g. train.epochs=5 data.limit=2048")
    return command_line.parse_arguments(parser, argv)


def resolve(args):
    """The run's settings (settings.run.RunSettings), read-only from here on. Every mistake in the user's input
    surfaces here, before TensorFlow loads and before anything is written (a resumed run's checkpoint is
    checked by the training loop, before anything is written either)."""
    if args.resume is None:
        run = resume.new_run(args.config or config.DEFAULT_FILE, args.overrides)
        if run.directory.exists() and distribute.is_chief(run):
            raise ConfigError(f"{run.directory} already exists; choose another output.run_name, "
                              f"or continue it with --resume {run.directory}")
    elif args.config is not None:
        raise ConfigError("--config cannot be combined with --resume: a resumed run keeps its own config.yaml; "
                          "change settings with key=value")
    else:
        run = resume.resumed_run(args.resume, args.overrides)
    distribute.check(run.user)
    return run


def foreseen(run):
    """What the run would find out for its empty settings, where the settings alone tell: a known dataset's
    image shape, and the evaluation interval when the number of images is known too."""
    known = {}
    size, channels = schema.image_shape(run)
    known.update({key: value for key, value in (("data.image_size", size), ("data.channels", channels))
                  if run[key] is None and value is not None})
    count = schema.DATASET_SIZES.get(run["data.dataset"]) if run["data.path"] is None else None
    if run["eval.every"] is None and (count or run["eval.features"] != "inception"):
        count = min(count, run["data.limit"] or count) if count else None
        known["eval.every"] = interval.evaluation_interval(run["eval.features"], run["eval.num_samples"], count)
    if run["eval.features"] == "auto" and (run["data.dataset"] != "folder" or run["eval.classifier"] not in (
            "auto", "existing")):  # a folder's labels are only known once it is read
        known["eval.features"] = "classifier"
    return known


def as_written(value):
    """A setting's value as it is written on the command line (train.ema_decay=0.999, model.conditional=true)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return "[" + ", ".join(map(as_written, value)) + "]"
    return "" if value is None else str(value)


def dry_run(run):
    """The settings as the run would start with them, one per line; an empty one says what fills it."""
    known = foreseen(run)
    print(f"{'resuming' if run.resuming else 'a new run in'} {run.directory}, with these settings:")
    for key, value in run.items():
        if key in run.found:
            note = "  # found out by the run"
        elif key in known and value is None:
            value, note = known[key], "  # empty: the run will find this"
        elif key in known:
            note = f"  # the run will choose {as_written(known[key])}"
        elif value is None:
            note = f"  # empty: {schema.SETTINGS[key].help.split(';')[0]}"
        else:
            note = ""
        print(f"  {key}={as_written(value)}{note}")


def start_again(run_dir):
    if run_dir is not None and run_files.is_resumable(run_dir):
        return (f"Start it again from its first step, with its settings, with: python train.py --resume {run_dir} "
                f"(or delete {run_dir})")
    if run_dir is not None and run_dir.exists():
        return f"To start again, delete {run_dir} (it holds no checkpoint) or choose another output.run_name."
    return "To start again, run the same command."


def main(argv=None):
    args = parse_args(argv)
    run_dir = None
    try:
        run = resolve(args)
        run_dir = run.directory
        if args.dry_run:
            dry_run(run)
            return
        with StopRequests() as stop, tflog.harmless_errors_hidden():  # a Ctrl-C while TensorFlow loads stops too
            from training import loop  # TensorFlow loads from here on: --help and mistakes answer before it
            loop.train(run, stop)
    except ConfigError as e:
        command_line.fail(str(e))
    except TrainingDiverged as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
    except Stopped as e:
        if e.checkpoint is None:  # several workers stop without saving: they may not all be at the same step
            print(f"stopped before the first checkpoint: no training is saved. {start_again(run_dir)}",
                  file=sys.stderr)
        else:
            print(f"stopped; the checkpoint of {e.checkpoint} is saved. Continue with: python train.py --resume "
                  f"{run_dir}", file=sys.stderr)
        sys.exit(128 + e.signal_number)
    except KeyboardInterrupt as e:  # a second Ctrl-C or SIGTERM, or the first before training began
        if run_dir is not None and run_files.has_checkpoint(run_dir):
            print(f"\ninterrupted; continue from the last checkpoint with: python train.py --resume {run_dir}",
                  file=sys.stderr)
        else:
            print(f"\ninterrupted before the first checkpoint: no training is saved. {start_again(run_dir)}",
                  file=sys.stderr)
        sys.exit(128 + getattr(e, "signal_number", signal.SIGINT))
    except OSError as e:
        # A full disk or a vanished folder mid-run: files are written atomically and the checkpoint's index
        # only moves on once a checkpoint is complete, so the last one still loads.
        then = (f"continue from the last checkpoint with: python train.py --resume {run_dir}"
                if run_dir is not None and run_files.has_checkpoint(run_dir) else "start the run again")
        print(f"error: cannot write {e.filename or run_dir}: {e.strerror or e}; make room (or fix the folder), "
              f"then {then}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
