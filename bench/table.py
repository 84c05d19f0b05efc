"""The quality numbers of finished runs at chosen epochs, as the Markdown table rows docs/ shows.

  python bench/table.py outputs/RUN1 outputs/RUN2 ... [--epochs 5,10,20,50] [--span 20-50] [--time] [--distance 6.5]
                        [--clustering]

Each cell is Fréchet distance / classifier score / rarest class's share, then the label accuracy for
conditional runs or, for self-conditioned ones (model.clusters), the NMI of their clusters with the data's
classes; read from the run's metrics.csv. --span adds each number's lowest and highest over every epoch of
a span: whether a run holds its numbers or drifts ("–" unless the run scored every epoch of it). --time
adds the time its epochs took (their `seconds`, summed; start-up and checkpoint writing not included) until
the classifier score first reached 9.0, which says something only for a run that had the machine to
itself; --distance D the same until the Fréchet distance first fell to D or less. --clustering adds the
share of the epochs' time spent clustering (`cluster_seconds`), up to the last epoch asked for. Runs scored by
different evaluators (compare.py's groups: another classifier, size, or one made again under the same name) get a
note on stderr first: their numbers do not compare.
"""

import argparse
import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SCORE = 9.0


def cell(row):
    if row is None or not row["frechet_distance"]:
        return "–"
    text = (f"{float(row['frechet_distance']):.1f} / {float(row['classifier_score']):.2f} / "
            f"{float(row['min_class_share']):.1%}")
    if row.get("cluster_nmi"):
        return text + f" / NMI {float(row['cluster_nmi']):.2f}"
    return text + (f" / {float(row['label_accuracy']):.1%}" if row.get("label_accuracy") else "")


def span_cell(rows, first, last):
    scored = [row for row in rows if first <= int(row["epoch"]) <= last and row["frechet_distance"]]
    if len(scored) < last - first + 1:
        return "–"

    def spread(key, form):
        values = [float(row[key]) for row in scored]
        return f"{min(values):{form}}–{max(values):{form}}"
    return (f"{spread('frechet_distance', '.1f')} / {spread('classifier_score', '.2f')} / "
            f"{spread('min_class_share', '.1%')}")


def clustering_share(rows, last):
    rows = [row for row in rows if int(row["epoch"]) <= last]
    clustering = sum(float(row["cluster_seconds"]) for row in rows if row.get("cluster_seconds"))
    total = sum(float(row["seconds"]) for row in rows)
    return f"{clustering:.0f} s of {total:.0f} s ({clustering / total:.1%})"


def seconds_until(rows, reached):
    elapsed = 0.0
    for row in rows:
        elapsed += float(row["seconds"])
        if row["frechet_distance"] and reached(row):
            return f"{elapsed / 60:.1f} min (epoch {row['epoch']})"
    return "not reached"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN")
    parser.add_argument("--epochs", default="10,20,30,40,50", help="comma-separated epochs (default 10,20,30,40,50)")
    parser.add_argument("--span", metavar="FIRST-LAST", help="add the lowest-highest of each number over these epochs")
    parser.add_argument("--time", action="store_true", help=f"add the epochs' time until classifier score {SCORE}")
    parser.add_argument("--distance", type=float, metavar="D", help="add the epochs' time until Frechet distance <= D")
    parser.add_argument("--clustering", action="store_true", help="add the share of the epochs' time spent clustering")
    args = parser.parse_args()
    epochs = [int(epoch) for epoch in args.epochs.split(",")]
    span = None
    if args.span:
        first, dash, last = args.span.partition("-")
        if not (dash and first.isdigit() and last.isdigit() and 1 <= int(first) <= int(last)):
            parser.error(f"--span {args.span}: give the first and last epoch, like --span 20-50")
        span = [int(first), int(last)]
    import compare
    from settings import config
    judged = compare.groups([{"name": run.name, "settings": config.load(base=config.saved(run))} for run in args.runs])
    if len(judged) > 1:
        print("note: these runs are scored by different evaluators, and their numbers do not compare:\n" + "\n".join(
            f"  {', '.join(run['name'] for run in runs)}: {judge}" for judge, runs in judged), file=sys.stderr)
    print("| run | " + " | ".join(f"epoch {epoch}" for epoch in epochs)
          + (f" | epochs {span[0]}–{span[1]}, lowest–highest" if span else "")
          + (f" | score {SCORE} after" if args.time else "")
          + (f" | distance {args.distance} after" if args.distance else "")
          + (" | clustering" if args.clustering else "") + " |")
    print("|---" * (len(epochs) + 1 + bool(span) + args.time + bool(args.distance) + args.clustering) + "|")
    for run in args.runs:
        with open(run / "metrics.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        by_epoch = {int(row["epoch"]): row for row in rows}
        print(f"| {run.name} | " + " | ".join(cell(by_epoch.get(epoch)) for epoch in epochs)
              + (f" | {span_cell(rows, *span)}" if span else "")
              + (f" | {seconds_until(rows, lambda row: float(row['classifier_score'] or 0) >= SCORE)}" if args.time else "")
              + (f" | {seconds_until(rows, lambda row: float(row['frechet_distance']) <= args.distance)}"
                 if args.distance else "")
              + (f" | {clustering_share(rows, max(epochs + (span or [])))}" if args.clustering else "") + " |")


if __name__ == "__main__":
    main()
