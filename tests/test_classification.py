"""Classification metrics equal scikit-learn on the same inputs, in every label and score encoding."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn import metrics as skm

from rageval.metric import Failed, Metric, stack_statistics
from rageval.metrics.classification import (
    F1,
    Accuracy,
    AucRoc,
    BalancedAccuracy,
    ConfusionMatrix,
    LogLoss,
    Mcc,
    Precision,
    Recall,
)
from rageval.sample import Sample
from rageval.stats import bootstrap_scores

NAMES = np.array(["negative", "neutral", "positive"])
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def stats_of(metric: Metric, samples: list[Sample]) -> np.ndarray:
    outcomes = metric.score_batch(samples)
    failed = [o.reason for o in outcomes if isinstance(o, Failed)]
    assert not failed, failed[:3]
    return stack_statistics([o.stats for o in outcomes])


def corpus(metric: Metric, samples: list[Sample]) -> float | None:
    return metric.corpus_scores(stats_of(metric, samples))[""]


def one_hot(index: int, width: int = 3) -> list[int]:
    return [1 if k == index else 0 for k in range(width)]


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@pytest.fixture(scope="module")
def data() -> dict[str, np.ndarray]:
    """An imbalanced three-class problem with logits that mostly favour the true class."""
    rng = np.random.default_rng(20240611)
    n = 90
    true = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    logits = rng.normal(0.0, 1.2, size=(n, 3)) + 1.4 * np.eye(3)[true]
    logits[:4] = np.round(logits[:4], 1)
    logits[5] = logits[6]
    probs = softmax(logits)
    return {"true": true, "logits": logits, "probs": probs, "pred": probs.argmax(axis=1)}


def encoded(data: dict[str, np.ndarray], encoding: str) -> tuple[list[Sample], dict[str, Any], Any, Any]:
    """Samples in one encoding, the metric params it needs, and the (y_true, y_pred) sklearn sees."""
    true, pred = data["true"], data["pred"]
    rows = range(len(true))
    if encoding == "names":
        samples = [Sample(id=i, label=str(NAMES[true[i]]), prediction=str(NAMES[pred[i]])) for i in rows]
        return samples, {}, NAMES[true], NAMES[pred]
    if encoding == "integers":
        samples = [Sample(id=i, label=int(true[i]), prediction=int(pred[i])) for i in rows]
        return samples, {}, true, pred
    if encoding == "one-hot labels":
        samples = [Sample(id=i, label=one_hot(true[i]), prediction=int(pred[i])) for i in rows]
        return samples, {}, true, pred
    if encoding == "one-hot both, named":
        labels = NAMES.tolist()
        samples = [Sample(id=i, label=one_hot(true[i]), prediction=one_hot(pred[i])) for i in rows]
        return samples, {"labels": labels}, NAMES[true], NAMES[pred]
    if encoding == "probabilities":
        samples = [Sample(id=i, label=int(true[i]), prediction_scores=data["probs"][i].tolist()) for i in rows]
        return samples, {}, true, pred
    if encoding == "named probabilities":
        samples = [Sample(id=i, label=str(NAMES[true[i]]), prediction_scores=data["probs"][i].tolist()) for i in rows]
        return samples, {"labels": NAMES.tolist()}, NAMES[true], NAMES[pred]
    if encoding == "logits":
        samples = [Sample(id=i, label=int(true[i]), prediction_scores=data["logits"][i].tolist()) for i in rows]
        return samples, {"from_logits": True}, true, pred
    raise AssertionError(encoding)


ENCODINGS = [
    "names",
    "integers",
    "one-hot labels",
    "one-hot both, named",
    "probabilities",
    "named probabilities",
    "logits",
]

LABEL_METRICS: list[tuple[type[Metric], dict[str, Any], Any, dict[str, Any]]] = [
    (Accuracy, {}, skm.accuracy_score, {}),
    (BalancedAccuracy, {}, skm.balanced_accuracy_score, {}),
    (BalancedAccuracy, {"adjusted": True}, skm.balanced_accuracy_score, {"adjusted": True}),
    (Mcc, {}, skm.matthews_corrcoef, {}),
    (ConfusionMatrix, {}, skm.accuracy_score, {}),
    *[
        (cls, {"average": average}, fn, {"average": average, "zero_division": 0})
        for cls, fn in ((Precision, skm.precision_score), (Recall, skm.recall_score), (F1, skm.f1_score))
        for average in ("micro", "macro", "weighted")
    ],
]


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize(
    ("cls", "params", "reference", "kwargs"),
    LABEL_METRICS,
    ids=[f"{c.info.name}-{p}" for c, p, _, _ in LABEL_METRICS],
)
def test_label_metric_equals_sklearn(data, encoding, cls, params, reference, kwargs):
    samples, extra, y_true, y_pred = encoded(data, encoding)
    metric = cls(params={**params, **extra})
    assert corpus(metric, samples) == pytest.approx(reference(y_true, y_pred, **kwargs), abs=1e-9)


@pytest.mark.parametrize("cls", [Precision, Recall, F1])
@pytest.mark.parametrize("zero_division", [0, 1])
@pytest.mark.parametrize("average", ["binary", "macro", "weighted"])
def test_zero_division_equals_sklearn(cls, zero_division, average):
    if average == "binary":
        true, pred = [0, 0, 0, 0], [0, 0, 0, 0]
    else:
        true, pred = [0, 0, 1, 1, 2, 3], [0, 1, 1, 1, 0, 4]
    samples = [Sample(id=i, label=t, prediction=p) for i, (t, p) in enumerate(zip(true, pred))]
    reference = {Precision: skm.precision_score, Recall: skm.recall_score, F1: skm.f1_score}[cls]
    expected = reference(true, pred, average=average, zero_division=zero_division)
    got = corpus(cls(params={"average": average, "zero_division": zero_division}), samples)
    assert got == pytest.approx(expected, abs=1e-9)


def binary_data(seed: int = 5, n: int = 80) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    true = (rng.random(n) < 0.3).astype(int)
    logits = rng.normal(0.0, 1.0, n) + 1.3 * true
    logits[10:14] = logits[20]
    return true, np.round(logits, 3)


@pytest.mark.parametrize("cls", [Precision, Recall, F1])
@pytest.mark.parametrize("threshold", [0.5, 0.3])
def test_binary_from_scores_equals_sklearn(cls, threshold):
    true, logits = binary_data()
    p = sigmoid(logits)
    reference = {Precision: skm.precision_score, Recall: skm.recall_score, F1: skm.f1_score}[cls]
    expected = reference(true, (p >= threshold).astype(int))
    scalar = [Sample(id=i, label=int(t), prediction_scores=float(x)) for i, (t, x) in enumerate(zip(true, p))]
    assert corpus(cls(params={"threshold": threshold}), scalar) == pytest.approx(expected, abs=1e-9)
    logit = [Sample(id=i, label=bool(t), prediction_scores=float(x)) for i, (t, x) in enumerate(zip(true, logits))]
    assert corpus(cls(params={"threshold": threshold, "from_logits": True}), logit) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("cls", [Precision, Recall, F1])
def test_binary_named_classes_use_the_second_label_as_positive(cls):
    true, logits = binary_data(seed=9)
    names = np.array(["ham", "spam"])
    pred = (logits > 0.4).astype(int)
    samples = [Sample(id=i, label=str(names[t]), prediction=str(names[p])) for i, (t, p) in enumerate(zip(true, pred))]
    reference = {Precision: skm.precision_score, Recall: skm.recall_score, F1: skm.f1_score}[cls]
    expected = reference(names[true], names[pred], pos_label="spam")
    assert corpus(cls(params={"labels": ["ham", "spam"]}), samples) == pytest.approx(expected, abs=1e-9)
    flipped = reference(names[true], names[pred], pos_label="ham")
    assert corpus(cls(params={"labels": ["spam", "ham"]}), samples) == pytest.approx(flipped, abs=1e-9)


@pytest.mark.parametrize("normalize", ["none", "rows", "columns", "all"])
def test_confusion_matrix_details_equal_sklearn(data, normalize):
    samples, _, y_true, y_pred = encoded(data, "names")
    metric = ConfusionMatrix(params={"normalize": normalize})
    details = metric.corpus_details(stats_of(metric, samples))
    assert details["classes"] == NAMES.tolist()
    assert details["matrix"] == skm.confusion_matrix(y_true, y_pred).tolist()
    if normalize == "none":
        assert "normalized" not in details
    else:
        sk_mode = {"rows": "true", "columns": "pred", "all": "all"}[normalize]
        expected = skm.confusion_matrix(y_true, y_pred, normalize=sk_mode)
        np.testing.assert_allclose(details["normalized"], expected, atol=1e-12)


def test_per_class_details_equal_sklearn(data):
    samples, _, y_true, y_pred = encoded(data, "names")
    metric = F1(params={"average": "macro"})
    details = metric.corpus_details(stats_of(metric, samples))
    precision, recall, f1, support = skm.precision_recall_fscore_support(y_true, y_pred, zero_division=0)
    assert [entry["class"] for entry in details["per_class"]] == NAMES.tolist()
    for key, expected in (("precision", precision), ("recall", recall), ("f1", f1), ("support", support)):
        np.testing.assert_allclose([entry[key] for entry in details["per_class"]], expected, atol=1e-12)
    assert details["support"] == support.tolist()
    assert details["prevalence"] == pytest.approx((support / support.sum()).tolist())
    assert details["majority_class"] == "negative"
    assert details["majority_baseline"] == pytest.approx(support.max() / support.sum())


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_balanced_accuracy_skips_classes_absent_from_the_labels():
    true, pred = ["a", "a", "b", "b", "b"], ["a", "c", "b", "a", "b"]
    samples = [Sample(id=i, label=t, prediction=p) for i, (t, p) in enumerate(zip(true, pred))]
    metric = BalancedAccuracy()
    stats = stats_of(metric, samples)
    assert metric.corpus_scores(stats)[""] == pytest.approx(skm.balanced_accuracy_score(true, pred), abs=1e-12)
    assert metric.corpus_details(stats)["per_class"] == [
        {"class": "a", "recall": 0.5, "support": 2},
        {"class": "b", "recall": pytest.approx(2 / 3), "support": 3},
        {"class": "c", "recall": None, "support": 0},
    ]


def test_per_sample_label_score_is_correctness(data):
    samples, _, y_true, y_pred = encoded(data, "names")
    metric = F1(params={"average": "macro"})
    for row, t, p in zip(stats_of(metric, samples), y_true, y_pred):
        assert metric.sample_scores(row) == {"": float(t == p)}


AUC_CASES = [
    ("binary probability", {}, {}),
    ("binary logit", {"from_logits": True}, {}),
    ("binary two-column", {}, {}),
    ("binary named", {"labels": ["ham", "spam"]}, {}),
    ("ovr macro", {"n_classes": 3}, {"multi_class": "ovr", "average": "macro"}),
    ("ovr weighted", {"n_classes": 3, "average": "weighted"}, {"multi_class": "ovr", "average": "weighted"}),
    ("ovr micro", {"n_classes": 3, "average": "micro"}, {"multi_class": "ovr", "average": "micro"}),
    ("ovo macro", {"n_classes": 3, "multi_class": "ovo"}, {"multi_class": "ovo", "average": "macro"}),
    (
        "ovo weighted",
        {"n_classes": 3, "multi_class": "ovo", "average": "weighted"},
        {"multi_class": "ovo", "average": "weighted"},
    ),
    ("ovr logits, one-hot labels", {"n_classes": 3, "from_logits": True}, {"multi_class": "ovr"}),
    ("ovr named", {"labels": NAMES.tolist()}, {"multi_class": "ovr"}),
]


def auc_inputs(data: dict[str, np.ndarray], case: str) -> tuple[list[Sample], Any, Any]:
    rows = range(len(data["true"]))
    if case.startswith("binary"):
        true, logits = binary_data()
        p = sigmoid(logits)
        if case == "binary logit":
            samples = [Sample(id=i, label=int(true[i]), prediction_scores=float(logits[i])) for i in range(true.size)]
        elif case == "binary two-column":
            samples = [Sample(id=i, label=int(true[i]), prediction_scores=[1 - p[i], p[i]]) for i in range(true.size)]
        elif case == "binary named":
            names = ["ham", "spam"]
            samples = [Sample(id=i, label=names[true[i]], prediction_scores=float(p[i])) for i in range(true.size)]
        else:
            samples = [Sample(id=i, label=int(true[i]), prediction_scores=float(p[i])) for i in range(true.size)]
        return samples, true, p
    true, probs = data["true"], data["probs"]
    if "logits" in case:
        samples = [Sample(id=i, label=one_hot(true[i]), prediction_scores=data["logits"][i].tolist()) for i in rows]
    elif "named" in case:
        samples = [Sample(id=i, label=str(NAMES[true[i]]), prediction_scores=probs[i].tolist()) for i in rows]
    else:
        samples = [Sample(id=i, label=int(true[i]), prediction_scores=probs[i].tolist()) for i in rows]
    return samples, true, probs


@pytest.mark.parametrize(("case", "params", "kwargs"), AUC_CASES, ids=[c for c, _, _ in AUC_CASES])
def test_auc_roc_equals_sklearn(data, case, params, kwargs):
    samples, y_true, y_score = auc_inputs(data, case)
    expected = skm.roc_auc_score(y_true, y_score, **kwargs)
    metric = AucRoc(params=params)
    stats = stats_of(metric, samples)
    assert metric.corpus_scores(stats)[""] == pytest.approx(expected, abs=1e-9)
    probabilities = y_score if y_score.ndim == 2 else np.stack([1 - y_score, y_score], axis=1)
    for row, t, p in zip(stats, y_true, probabilities):
        assert metric.sample_scores(row)[""] == pytest.approx(p[t], abs=1e-12)


def test_auc_roc_per_class_details_equal_sklearn(data):
    samples, y_true, probs = auc_inputs(data, "ovr macro")
    metric = AucRoc(params={"n_classes": 3})
    details = metric.corpus_details(stats_of(metric, samples))
    expected = skm.roc_auc_score(y_true, probs, multi_class="ovr", average=None)
    assert [entry["auc"] for entry in details["per_class"]] == pytest.approx(expected.tolist(), abs=1e-12)
    assert details["support"] == np.bincount(y_true).tolist()
    ovo = AucRoc(params={"n_classes": 3, "multi_class": "ovo"})
    pairs = ovo.corpus_details(stats_of(ovo, samples))["pairs"]
    assert [p["classes"] for p in pairs] == [[0, 1], [0, 2], [1, 2]]
    for pair in pairs:
        a, b = pair["classes"]
        rows = np.isin(y_true, [a, b])
        both = (
            skm.roc_auc_score(y_true[rows] == a, probs[rows, a]) + skm.roc_auc_score(y_true[rows] == b, probs[rows, b])
        ) / 2
        assert pair["auc"] == pytest.approx(both, abs=1e-12)


def test_binary_curves_and_thresholds_equal_sklearn():
    true, logits = binary_data(n=120)
    p = np.round(sigmoid(logits), 2)
    samples = [Sample(id=i, label=int(t), prediction_scores=float(x)) for i, (t, x) in enumerate(zip(true, p))]
    metric = AucRoc(params={"max_curve_points": 100_000})
    details = metric.corpus_details(stats_of(metric, samples))

    fpr, tpr, thresholds = skm.roc_curve(true, p, drop_intermediate=False)
    full = set(zip(np.round(fpr, 12), np.round(tpr, 12)))
    roc = details["roc"]
    assert set(zip(np.round(roc["fpr"], 12), np.round(roc["tpr"], 12))) <= full
    assert (roc["fpr"][0], roc["tpr"][0], roc["threshold"][0]) == (0.0, 0.0, None)
    assert (roc["fpr"][-1], roc["tpr"][-1]) == (1.0, 1.0)
    area = np.sum(np.diff(roc["fpr"]) * (np.array(roc["tpr"][1:]) + roc["tpr"][:-1]) / 2)
    assert area == pytest.approx(skm.roc_auc_score(true, p), abs=1e-12)

    precision, recall, pr_thresholds = skm.precision_recall_curve(true, p)
    pr = details["precision_recall"]
    np.testing.assert_allclose(pr["precision"], precision[:-1][::-1], atol=1e-12)
    np.testing.assert_allclose(pr["recall"], recall[:-1][::-1], atol=1e-12)
    np.testing.assert_allclose(pr["threshold"], pr_thresholds[::-1], atol=1e-12)
    assert details["average_precision"] == pytest.approx(skm.average_precision_score(true, p), abs=1e-12)

    f1_at = {t: skm.f1_score(true, (p >= t).astype(int)) for t in np.unique(p)}
    best = details["thresholds"]["max_f1"]
    assert best["f1"] == pytest.approx(max(f1_at.values()), abs=1e-12)
    assert f1_at[best["threshold"]] == pytest.approx(best["f1"], abs=1e-12)
    at_best = (p >= best["threshold"]).astype(int)
    assert best["precision"] == pytest.approx(skm.precision_score(true, at_best), abs=1e-12)
    assert best["recall"] == pytest.approx(skm.recall_score(true, at_best), abs=1e-12)

    youden = details["thresholds"]["max_youden_j"]
    j = tpr - fpr
    assert youden["youden_j"] == pytest.approx(j.max(), abs=1e-12)
    k = int(np.flatnonzero(thresholds == youden["threshold"])[0])
    assert (youden["tpr"], youden["fpr"]) == pytest.approx((tpr[k], fpr[k]), abs=1e-12)


def test_curves_are_thinned_to_the_point_limit():
    rng = np.random.default_rng(3)
    true = (rng.random(3000) < 0.4).astype(int)
    p = sigmoid(rng.normal(size=3000) + true)
    samples = [Sample(id=i, label=int(t), prediction_scores=float(x)) for i, (t, x) in enumerate(zip(true, p))]
    metric = AucRoc(params={"max_curve_points": 50})
    details = metric.corpus_details(stats_of(metric, samples))
    for curve in (details["roc"], details["precision_recall"]):
        lengths = {len(values) for values in curve.values()}
        assert len(lengths) == 1 and lengths.pop() <= 50
    assert (details["roc"]["fpr"][-1], details["roc"]["tpr"][-1]) == (1.0, 1.0)
    json.dumps(details, allow_nan=False)


LOG_LOSS_CASES = ["binary probability", "binary logit", "vectors", "vector logits", "named vectors", "clipped"]


@pytest.mark.parametrize("case", LOG_LOSS_CASES)
def test_log_loss_equals_sklearn(data, case):
    rows = range(len(data["true"]))
    true, probs = data["true"], data["probs"]
    params: dict[str, Any] = {}
    if case.startswith("binary"):
        true, logits = binary_data()
        probs = sigmoid(logits)
        if case == "binary logit":
            params = {"from_logits": True}
            samples = [
                Sample(id=i, label=int(t), prediction_scores=float(x)) for i, (t, x) in enumerate(zip(true, logits))
            ]
        else:
            samples = [
                Sample(id=i, label=int(t), prediction_scores=float(x)) for i, (t, x) in enumerate(zip(true, probs))
            ]
        expected = skm.log_loss(true, probs)
        per_row = -np.log(np.where(true == 1, probs, 1 - probs))
    else:
        if case == "vector logits":
            params = {"from_logits": True}
            samples = [Sample(id=i, label=int(true[i]), prediction_scores=data["logits"][i].tolist()) for i in rows]
        elif case == "named vectors":
            params = {"labels": NAMES.tolist()}
            samples = [Sample(id=i, label=str(NAMES[true[i]]), prediction_scores=probs[i].tolist()) for i in rows]
        elif case == "clipped":
            probs = probs.copy()
            probs[0] = one_hot((true[0] + 1) % 3)
            probs[1] = one_hot(true[1])
            samples = [Sample(id=i, label=int(true[i]), prediction_scores=probs[i].tolist()) for i in rows]
        else:
            samples = [Sample(id=i, label=int(true[i]), prediction_scores=probs[i].tolist()) for i in rows]
        expected = skm.log_loss(true, probs, labels=[0, 1, 2])
        per_row = -np.log(np.clip(probs[np.arange(len(true)), true], np.finfo(float).eps, 1 - np.finfo(float).eps))
    metric = LogLoss(params=params)
    stats = stats_of(metric, samples)
    assert metric.corpus_scores(stats)[""] == pytest.approx(expected, abs=1e-9)
    got = [metric.sample_scores(row)[""] for row in stats]
    np.testing.assert_allclose(got, per_row, atol=1e-9)


def test_log_loss_baseline_is_the_entropy_of_the_class_frequencies(data):
    true, probs = data["true"], data["probs"]
    samples = [Sample(id=i, label=int(t), prediction_scores=p.tolist()) for i, (t, p) in enumerate(zip(true, probs))]
    metric = LogLoss()
    details = metric.corpus_details(stats_of(metric, samples))
    prevalence = np.bincount(true) / true.size
    constant = np.tile(prevalence, (true.size, 1))
    assert details["baseline_log_loss"] == pytest.approx(skm.log_loss(true, constant), abs=1e-9)


def test_results_do_not_depend_on_row_order(data):
    samples, extra, _, _ = encoded(data, "named probabilities")
    metrics = [
        F1(params={"average": "macro", **extra}),
        Mcc(params=extra),
        AucRoc(params={"labels": NAMES.tolist(), "multi_class": "ovo"}),
    ]
    order = np.random.default_rng(1).permutation(len(samples))
    for metric in metrics:
        stats = stats_of(metric, samples)
        assert metric.corpus_scores(stats) == metric.corpus_scores(stats[order])
        assert metric.corpus_details(stats) == metric.corpus_details(stats[order])


def agreement_cases() -> list[dict[str, Any]]:
    path = SHARED_DATA / "cls" / "sklearn_agreement_cases.jsonl"
    if not path.is_file():
        return []
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _needs_cases(cases: list[dict[str, Any]]) -> None:
    if not cases:
        pytest.skip(f"shared evaluation data not found at {SHARED_DATA}")


def test_mcc_agreement_cases_from_sklearns_suite():
    cases = [c for c in agreement_cases() if c["metric"] == "matthews_corrcoef"]
    _needs_cases(cases)
    for case in cases:
        samples = [Sample(id=i, label=t, prediction=p) for i, (t, p) in enumerate(zip(case["y_true"], case["y_pred"]))]
        got = corpus(Mcc(), samples)
        assert got == pytest.approx(case["expected"], abs=max(case["tolerance"], 1e-12)), case["id"]


@pytest.mark.filterwarnings("ignore:A single label was found")
def test_label_metrics_on_the_agreement_cases_vectors_equal_sklearn():
    """The binary and multi-class vectors of the kappa cases, scored by every label metric."""
    cases = [c for c in agreement_cases() if "multilabel" not in c["metric"]]
    _needs_cases(cases)
    for case in cases:
        y_true, y_pred = case["y_true"], case["y_pred"]
        samples = [Sample(id=i, label=t, prediction=p) for i, (t, p) in enumerate(zip(y_true, y_pred))]
        assert corpus(Accuracy(), samples) == pytest.approx(skm.accuracy_score(y_true, y_pred), abs=1e-12)
        assert corpus(Mcc(), samples) == pytest.approx(skm.matthews_corrcoef(y_true, y_pred), abs=1e-12)
        for average in ("micro", "macro", "weighted"):
            expected = skm.f1_score(y_true, y_pred, average=average, zero_division=0)
            assert corpus(F1(params={"average": average}), samples) == pytest.approx(expected, abs=1e-12)


def test_bootstrap_over_ten_thousand_rows_is_fast():
    rng = np.random.default_rng(0)
    n = 10_000
    true = rng.integers(0, 4, n)
    names = np.array(["billing", "cancel", "refund", "shipping"])
    logits = rng.normal(size=(n, 4)) + 1.5 * np.eye(4)[true]
    pred = logits.argmax(axis=1)
    labelled = [Sample(id=i, label=str(names[t]), prediction=str(names[p])) for i, (t, p) in enumerate(zip(true, pred))]
    scored = [Sample(id=i, label=int(t), prediction_scores=x.tolist()) for i, (t, x) in enumerate(zip(true, logits))]
    cases = [
        (F1(params={"average": "macro"}), labelled),
        (AucRoc(params={"n_classes": 4, "from_logits": True}), scored),
    ]
    for metric, samples in cases:
        stats = stats_of(metric, samples)
        started = time.perf_counter()
        draws = bootstrap_scores(metric, stats, 100, seed=0)
        elapsed = time.perf_counter() - started
        assert len(draws[""]) == 100
        assert elapsed < 2.0, f"{metric.info.name}: 100 resamples of 10k rows took {elapsed:.2f}s"
