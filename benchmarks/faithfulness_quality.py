"""How well ``faithfulness`` agrees with human faithfulness labels (BEGIN, Q², SummEdits).

For each scorer available offline, every labelled answer of ../shared/data/rag is scored through
the metric itself; the benchmark reports the ROC AUC of the per-answer support score (the mean
support probability of its claims) and the balanced accuracy of a cut-off on it. Everything that
is chosen (the cut-off, the value given to answers with no claims, the calibrations with --fit)
is chosen on the *_dev files only, then applied unchanged to the test files. Two simple scorers
are computed alongside for reference: token overlap (share of the answer's tokens found in the
contexts) and MiniLM similarity of the whole answer to the whole context.

    HF_HUB_OFFLINE=1 python benchmarks/faithfulness_quality.py              # the table (about 10 min on 2 CPU cores)
    HF_HUB_OFFLINE=1 python benchmarks/faithfulness_quality.py --fit        # refit the calibrations on dev, print them
    python benchmarks/faithfulness_quality.py --nli-model ./my-nli-model    # add the nli scorer

``--json FILE`` writes every number; ``--limit N`` scores the first N answers of each file.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "rag"
DEV_FILES = ("begin_wow_dev", "begin_cmudog_dev")
TEST_FILES = ("begin_wow_test", "q2_wow_consistency", "summedits_sales_call", "summedits_scitldr")
OFFLINE_SCORERS = ("lexical", "embedding", "hybrid")


def load(name: str, limit: int | None) -> list[dict[str, Any]]:
    rows = []
    with open(DATA / f"{name}.jsonl", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            if row.get("faithful") is not None:
                rows.append(row)
            if limit and len(rows) >= limit:
                break
    return rows


def roc_auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def balanced_accuracy(labels: Sequence[int], scores: Sequence[float], cut: float) -> float:
    from sklearn.metrics import balanced_accuracy_score

    return float(balanced_accuracy_score(labels, [int(s >= cut) for s in scores]))


def best_cut(labels: Sequence[int], scores: Sequence[float]) -> float:
    """The cut-off with the best balanced accuracy (ties: the middle of the best run)."""
    candidates = sorted(set(scores))
    midpoints = [(a + b) / 2 for a, b in itertools.pairwise(candidates)] or candidates
    values = [balanced_accuracy(labels, scores, c) for c in midpoints]
    best = max(values)
    winners = [c for c, v in zip(midpoints, values) if v == best]
    return winners[len(winners) // 2]


def token_overlap(answer: str, contexts: Sequence[str]) -> float:
    words = re.findall(r"\w+", answer.lower())
    vocabulary = set(re.findall(r"\w+", " ".join(contexts).lower()))
    return sum(w in vocabulary for w in words) / len(words) if words else 0.0


def score_file(metric: Any, rows: list[dict[str, Any]], batch: int = 64) -> list[list[Any]]:
    """Claim checks of every answer, through the metric's own claim splitting and scorer."""
    from rageval.metrics.evidence import Evidence

    checks: list[list[Any]] = []
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        items = [Evidence.of(r["answer"], r["contexts"]) for r in chunk]
        checks += metric.check(items)
    return checks


def support_scores(checks: list[list[Any]], fill: float) -> list[float]:
    return [float(np.mean([c.probability for c in claims])) if claims else fill for claims in checks]


def fit_calibration(checks: list[list[Any]], labels: Sequence[int]) -> tuple[float, tuple[float, ...]]:
    """Logistic regression of claim features on their answer's label, each answer weighing one."""
    from sklearn.linear_model import LogisticRegression

    features, targets, weights = [], [], []
    for claims, label in zip(checks, labels):
        for claim in claims:
            features.append(claim.features)
            targets.append(label)
            weights.append(1.0 / len(claims))
    model = LogisticRegression(C=1.0, max_iter=1000).fit(np.array(features), targets, sample_weight=weights)
    return float(model.intercept_[0]), tuple(round(float(w), 3) for w in model.coef_[0])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", action="store_true", help="refit the calibrations on the dev files and print them")
    parser.add_argument("--nli-model", help="a local NLI model folder: adds the nli scorer")
    parser.add_argument("--scorers", default=",".join(OFFLINE_SCORERS), help="comma-separated scorers to run")
    parser.add_argument("--limit", type=int, help="score only the first N labelled answers of each file")
    parser.add_argument("--json", type=Path, help="write every number to this file")
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"no data at {DATA}; it comes with the shared evaluation data", file=sys.stderr)
        return 2

    from rageval.context import RunContext
    from rageval.metrics import evidence
    from rageval.metrics.rag import Faithfulness

    files = {name: load(name, args.limit) for name in DEV_FILES + TEST_FILES}
    labels = {name: [int(r["faithful"]) for r in rows] for name, rows in files.items()}
    dev_labels = [y for name in DEV_FILES for y in labels[name]]
    context = RunContext()
    scorers = [s for s in args.scorers.split(",") if s]
    if args.nli_model:
        scorers.append("nli")
    results: dict[str, Any] = {"scorers": {}, "baselines": {}, "counts": {n: len(r) for n, r in files.items()}}

    for scorer in scorers:
        params: dict[str, Any] = {"scorer": scorer}
        if scorer == "nli":
            params["model"] = args.nli_model
        metric = Faithfulness(params=params, context=context)
        started = time.perf_counter()
        checks = {name: score_file(metric, rows) for name, rows in files.items()}
        seconds = time.perf_counter() - started
        dev_checks = [c for name in DEV_FILES for c in checks[name]]
        if args.fit and scorer in evidence.CALIBRATIONS:
            bias, weights = fit_calibration(dev_checks, dev_labels)
            print(f"{scorer}: Calibration({bias:.3f}, {weights}),  # refit on {', '.join(DEV_FILES)}")
            evidence.CALIBRATIONS[scorer] = evidence.Calibration(bias, weights)
            checks = {name: score_file(metric, rows) for name, rows in files.items()}
            dev_checks = [c for name in DEV_FILES for c in checks[name]]
        fills = (0.0, 0.5, 1.0)
        fill = max(fills, key=lambda f: roc_auc(dev_labels, support_scores(dev_checks, f)))
        dev_scores = support_scores(dev_checks, fill)
        cut = best_cut(dev_labels, dev_scores)
        entry: dict[str, Any] = {"no_claim_value": fill, "cut": round(cut, 4), "seconds": round(seconds, 1)}
        for name in DEV_FILES + TEST_FILES:
            scores = support_scores(checks[name], fill)
            entry[name] = {
                "roc_auc": round(roc_auc(labels[name], scores), 4),
                "balanced_accuracy": round(balanced_accuracy(labels[name], scores, cut), 4),
                "no_claims": sum(not c for c in checks[name]),
            }
        results["scorers"][scorer] = entry

    overlap = {name: [token_overlap(r["answer"], r["contexts"]) for r in rows] for name, rows in files.items()}
    baselines = {"token_overlap": overlap}
    if any(s != "lexical" for s in scorers):
        from rageval.models import PACKAGED_MINILM, ModelOptions, resolve_model, shared_embedder

        embedder = shared_embedder(context, resolve_model(PACKAGED_MINILM), ModelOptions())
        similarity = {}
        for name, rows in files.items():
            answers = embedder.encode([r["answer"] for r in rows], 64)
            contexts = embedder.encode([" ".join(r["contexts"]) for r in rows], 64)
            similarity[name] = [float(a @ c) for a, c in zip(answers, contexts)]
        baselines["minilm_similarity"] = similarity
    for baseline, scores in baselines.items():
        dev_scores = [s for name in DEV_FILES for s in scores[name]]
        cut = best_cut(dev_labels, dev_scores)
        results["baselines"][baseline] = {
            name: {
                "roc_auc": round(roc_auc(labels[name], scores[name]), 4),
                "balanced_accuracy": round(balanced_accuracy(labels[name], scores[name], cut), 4),
            }
            for name in DEV_FILES + TEST_FILES
        }

    print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


def print_table(results: dict[str, Any]) -> None:
    names = DEV_FILES + TEST_FILES
    print("\nROC AUC / balanced accuracy (cut-off chosen on the dev files)\n")
    print("| scorer | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 1) + "|")
    rows = [(f"faithfulness scorer={s}", e) for s, e in results["scorers"].items()]
    rows += [(f"baseline: {b}", e) for b, e in results["baselines"].items()]
    for label, entry in rows:
        cells = [f"{entry[n]['roc_auc']:.3f} / {entry[n]['balanced_accuracy']:.3f}" for n in names]
        print(f"| {label} | " + " | ".join(cells) + " |")
    print(f"\nlabelled answers: {results['counts']}")


if __name__ == "__main__":
    raise SystemExit(main())
