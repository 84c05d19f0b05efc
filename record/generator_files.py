"""A trained generator as a file, and what a run folder says of its classes: a conditional generator's .keras
archive carries its class names (and a self-conditioned one's cluster shares), generator_best.keras the epoch
it holds, and the run folder its classes.txt, so generate.py can ask for a class by name anywhere."""

import zipfile


# A conditional run's class names, one per line, in label order: in its run directory and inside each of its
# .keras generators.
CLASSES_FILE = "classes.txt"
SHARES_ENTRY = "class_shares.txt"  # a self-conditioned generator's cluster sizes as shares, one per line
EPOCH_ENTRY = "epoch.txt"  # the epoch whose generator generator_best.keras holds


def save_generator(generator, path, class_names=(), class_shares=None, epoch=None):
    """generator.save(path), with the class names (and a self-conditioned run's cluster shares) added to the
    .keras archive (Keras reads only its own entries), so a generator copied elsewhere can still be asked for
    a class by name, and draws clusters as often as the data holds them; and `epoch`, if given, the epoch
    it was trained to."""
    generator.save(path)
    if class_names or epoch is not None:
        with zipfile.ZipFile(path, "a") as archive:
            if class_names:
                archive.writestr(CLASSES_FILE, "".join(f"{name}\n" for name in class_names))
            if class_shares is not None:
                archive.writestr(SHARES_ENTRY, "".join(f"{share!r}\n" for share in map(float, class_shares)))
            if epoch is not None:
                archive.writestr(EPOCH_ENTRY, f"{epoch}\n")


def saved_epoch(path):
    """The epoch save_generator recorded in a .keras file (None: saved without it)."""
    with zipfile.ZipFile(path) as archive:
        return int(archive.read(EPOCH_ENTRY)) if EPOCH_ENTRY in archive.namelist() else None


def saved_class_names(path):
    """The class names saved in a .keras file by save_generator ([] for an unconditional generator)."""
    with zipfile.ZipFile(path) as archive:
        if CLASSES_FILE not in archive.namelist():
            return []
        return archive.read(CLASSES_FILE).decode().splitlines()


def write_run_class_names(run_dir, class_names):
    (run_dir / CLASSES_FILE).write_text("".join(f"{name}\n" for name in class_names))


def run_class_names(run_dir):
    """The class names in a run directory's classes.txt ([]: none there)."""
    path = run_dir / CLASSES_FILE
    return path.read_text().splitlines() if path.is_file() else []


def saved_class_shares(path):
    """The cluster shares saved in a .keras file by save_generator (None: not a self-conditioned generator)."""
    with zipfile.ZipFile(path) as archive:
        if SHARES_ENTRY not in archive.namelist():
            return None
        return [float(line) for line in archive.read(SHARES_ENTRY).decode().split()]
