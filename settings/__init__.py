"""A run's settings, read before TensorFlow loads so a mistake fails in milliseconds: every setting declared
once with its rule and the checks of their combinations (schema.py), read from YAML and the command line and
written back to a run's folder (config.py), --help and one-line errors (command_line.py), a run's settings as
one read-only object (run.py), and what a resumed run may change (resume.py)."""
