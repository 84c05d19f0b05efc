"""The settings on a command line: --help lists them, and an option given as --epochs 2 is answered with how
settings are given (train.epochs=2). Every command's mistakes end here, in fail: one line, exit code 2."""

import argparse
import sys

from settings.schema import SETTINGS


def settings_help():
    lines = ["settings (override any with key=value; built-in defaults shown, config.yaml repeats them):"]
    for key, setting in SETTINGS.items():
        default = "empty" if setting.default is None else setting.default
        lines.append(f"  {key}={default}\n      {setting.help}")
    return "\n".join(lines)


def fail(message):
    """Print a user mistake as one line and exit with code 2, like argparse does."""
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def parse_arguments(parser, argv=None):
    """The parser's arguments; an option it does not know is answered with how settings are given (an
    `--epochs 2` is `train.epochs=2`), not argparse's bare "unrecognized arguments"."""
    args, unknown = parser.parse_known_intermixed_args(argv)  # settings before and after an option
    if unknown:
        argv = sys.argv[1:] if argv is None else list(argv)
        name = unknown[0].lstrip("-").split("=")[0].replace("-", "_")
        keys = [key for key in SETTINGS if key.split(".")[1] == name]
        if not keys:
            fail(f"unknown option {unknown[0]} (--help lists the options); settings are given as key=value, like "
                 f"train.epochs=5")
        at = argv.index(unknown[0]) if unknown[0] in argv else -1
        given = unknown[0].partition("=")[2] or (argv[at + 1] if 0 <= at < len(argv) - 1 else "")
        value = given if given and not given.startswith("-") else SETTINGS[keys[0]].default
        fail(f"unknown option {unknown[0]}: settings are given as key=value, like {keys[0]}={value} "
             f"(--help lists them all)")
    return args


def argument_parser(description):
    return argparse.ArgumentParser(description=description, epilog=settings_help(),
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
