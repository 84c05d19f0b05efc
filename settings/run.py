"""One run's settings as one read-only object: what its user set, what the run found out for the settings left
to it, where it writes, and when resuming the settings it ran with. Built once by settings/resume.py from the
command line, extended once by the training loop with what the data shows (RunSettings.finding), and saved in the
run folder as config.yaml and found.yaml, which a resume reads back."""

import types
from collections.abc import Mapping
from pathlib import Path

from output import run_files
from settings import config


class RunSettings(Mapping):
    """Reads like the flat settings mapping (run["train.epochs"]): the user's settings (`user`, config.yaml) with
    what the run found out (`found`, found.yaml: its images' shape, the dataset really used, its evaluation
    interval, its seed, its evaluator's id) in place of the empty ones. `directory` is the run's folder;
    `resumed` the settings of the run being resumed (None: a new run)."""

    def __init__(self, user, found, directory, resumed=None):
        self.user, self.found = types.MappingProxyType(dict(user)), types.MappingProxyType(dict(found))
        self.directory, self.resumed = Path(directory), resumed
        self.merged = config.with_found(self.user, self.found)

    def __getitem__(self, key):
        return self.merged[key]

    def __iter__(self):
        return iter(self.merged)

    def __len__(self):
        return len(self.merged)

    @property
    def resuming(self):
        return self.resumed is not None

    def finding(self, facts):
        """These settings with more of what the run found out (`facts`: key -> value)."""
        return RunSettings(self.user, {**self.found, **facts}, self.directory, self.resumed)

    def save(self, directory=None):
        """config.yaml: the settings as the user set them; found.yaml: what the run found out. Into the run's
        folder, or `directory` (a worker's scratch folder)."""
        directory = Path(directory or self.directory)
        config.dump(self.user, directory / run_files.CONFIG)
        config.dump(self.found, directory / run_files.FOUND)
