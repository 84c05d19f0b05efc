"""The quality numbers of finished runs at chosen epochs, as the Markdown table rows docs/ shows.

  python bench/table.py outputs/RUN1 outputs/RUN2 ... [--epochs 5,10,20,50] [--time]

Each cell is Fréchet distance / classifier score / rarest class's share, then the label accuracy for
conditional runs, read from the run's metrics.csv. --time adds the time its epochs took (their
`seconds`, summed; start-up and checkpoint writing not included) until the classifier score first
reached 9.0, which says something only for a run that had the machine to itself.
"""

import argparse
import csv
from pathlib import Path

SCORE = 9.0


def cell(row):
    if row is None or not row["frechet_distance"]:
        return "–"
    text = (f"{float(row['frechet_distance']):.1f} / {float(row['classifier_score']):.2f} / "
            f"{float(row['min_class_share']):.1%}")
    return text + (f" / {float(row['label_accuracy']):.1%}" if row.get("label_accuracy") else "")


def seconds_to_score(rows):
    elapsed = 0.0
    for row in rows:
        elapsed += float(row["seconds"])
        if row["classifier_score"] and float(row["classifier_score"]) >= SCORE:
            return f"{elapsed / 60:.1f} min (epoch {row['epoch']})"
    return "not reached"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN")
    parser.add_argument("--epochs", default="10,20,30,40,50", help="comma-separated epochs (default 10,20,30,40,50)")
    parser.add_argument("--time", action="store_true", help=f"add the epochs' time until classifier score {SCORE}")
    args = parser.parse_args()
    epochs = [int(epoch) for epoch in args.epochs.split(",")]
    print("| run | " + " | ".join(f"epoch {epoch}" for epoch in epochs) + (f" | score {SCORE} after |" if args.time
                                                                            else " |"))
    print("|---" * (len(epochs) + 1 + args.time) + "|")
    for run in args.runs:
        with open(run / "metrics.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        by_epoch = {int(row["epoch"]): row for row in rows}
        print(f"| {run.name} | " + " | ".join(cell(by_epoch.get(epoch)) for epoch in epochs)
              + (f" | {seconds_to_score(rows)} |" if args.time else " |"))


if __name__ == "__main__":
    main()
