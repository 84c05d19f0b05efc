"""Real colour pictures that work offline: OpenMoji's 4,495 emoji (CC BY-SA 4.0, from the npm registry) rendered
to transparent PNGs, as a loose folder and as a labelled copy with one subfolder per emoji group.

  pip install cairosvg   # renders the SVGs (needs the system's libcairo2)
  python bench/openmoji.py OUT [--size 64]

OUT/loose/HEXCODE.png is a folder with no classes, as a user brings one; OUT/groups/GROUP/HEXCODE.png is the
same images by OpenMoji's group (smileys-emotion, animals-nature, flags, ...; its 9 skin-tone swatches left
out), for `python train_classifier.py --data OUT/groups` to make the evaluator that scores runs on the loose
folder. The pictures are line art on transparency: the program composites them onto data.background.
"""

import argparse
import csv
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "openmoji@17.0.0"
LEFT_OUT = {"component"}  # skin-tone swatches, not pictures


def fetch(folder):
    """The npm package's tarball, fetched once into `folder` with npm's own client."""
    found = sorted(folder.glob("openmoji-*.tgz"))
    if not found:
        subprocess.run(["npm", "pack", PACKAGE, "--silent"], cwd=folder, check=True, stdout=subprocess.DEVNULL)
        found = sorted(folder.glob("openmoji-*.tgz"))
    return found[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--size", type=int, default=64, help="side of the rendered PNGs in pixels")
    args = parser.parse_args()
    import cairosvg

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch, tarfile.open(fetch(args.out)) as package:
        package.extractall(scratch, members=[m for m in package.getmembers()
                                             if m.name.startswith(("package/color/svg/", "package/data/openmoji.csv"))],
                           filter="data")
        root = Path(scratch) / "package"
        rows = [row for row in csv.DictReader(open(root / "data" / "openmoji.csv", encoding="utf-8"))
                if row["group"] not in LEFT_OUT]
        skipped = []
        for number, row in enumerate(rows, 1):
            try:
                png = cairosvg.svg2png(url=str(root / "color" / "svg" / f"{row['hexcode']}.svg"),
                                       output_width=args.size, output_height=args.size)
            except Exception:  # a few SVGs use markers cairosvg cannot draw
                skipped.append(row["hexcode"])
                continue
            for target in (args.out / "loose" / f"{row['hexcode']}.png",
                           args.out / "groups" / row["group"] / f"{row['hexcode']}.png"):
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(png)
            if number % 500 == 0:
                print(f"{number}/{len(rows)}", file=sys.stderr, flush=True)
    print(f"{len(rows) - len(skipped)} emoji in {args.out / 'loose'} and, by group, {args.out / 'groups'}"
          + (f"; {len(skipped)} that cairosvg cannot draw left out ({', '.join(skipped[:5])})" if skipped else ""))


if __name__ == "__main__":
    main()
