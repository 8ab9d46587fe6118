"""Classification inputs: every classic mistake is a row error or a report warning; the whole run path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from helpers import read_jsonl, write_jsonl
from sklearn import metrics as skm

from rageval.errors import ConfigError, DataError
from rageval.metric import Failed, Metric, Scored, stack_statistics
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
from rageval.runner import run_task
from rageval.sample import Sample
from rageval.task import load_task

REPO = Path(__file__).resolve().parents[1]


def outcome(metric: Metric, **fields: Any) -> Scored | Failed:
    return metric.score_batch([Sample(id=0, **fields)])[0]


def reason(metric: Metric, **fields: Any) -> str:
    result = outcome(metric, **fields)
    assert isinstance(result, Failed), f"expected an error, got {result}"
    return result.reason


def run(metric: Metric, rows: list[dict[str, Any]]) -> tuple[float | None, dict[str, Any]]:
    outcomes = metric.score_batch([Sample(id=i, **row) for i, row in enumerate(rows)])
    failed = [o.reason for o in outcomes if isinstance(o, Failed)]
    assert not failed, failed
    stats = stack_statistics([o.stats for o in outcomes])
    return metric.corpus_scores(stats)[""], metric.corpus_details(stats)


LABEL_ERRORS = [
    ({"label": None, "prediction": 1}, "label is null"),
    (
        {"label": {"class": 1}, "prediction": 1},
        "label must be a class (an integer, a string or a one-hot vector), got dict",
    ),
    ({"label": 0.7, "prediction": 1}, "label 0.7 is not a class"),
    ({"label": "", "prediction": "pos"}, "label is an empty string"),
    ({"label": [1, 1, 0], "prediction": 1}, "label has 2 ones: multi-label targets are not supported"),
    ({"label": [0, 0, 0], "prediction": 1}, "label is an all-zero vector"),
    ({"label": [0.2, 0.8], "prediction": 1}, "label is a vector with values other than 0 and 1"),
    ({"label": ["pos"], "prediction": "pos"}, "label is a list that is not a one-hot vector"),
    ({"label": [], "prediction": 1}, "label is an empty list"),
    (
        {"label": 1, "prediction": [0.2, 0.8]},
        "prediction is a vector of scores, not a class: map that column to prediction_scores",
    ),
    (
        {"label": 1, "prediction": 0.83},
        "prediction 0.83 is a probability, not a class: map that column to prediction_scores",
    ),
    ({"label": "pos", "prediction": 1}, "label 'pos' and prediction 1 use different encodings"),
    ({"label": None, "prediction": None}, "label is null"),
    ({"label": 1}, "prediction and prediction_scores are null"),
]


@pytest.mark.parametrize(("fields", "expected"), LABEL_ERRORS, ids=[e for _, e in LABEL_ERRORS])
def test_label_errors_are_row_errors_with_a_reason(fields, expected):
    assert expected in reason(Accuracy(), **fields)


def test_labels_outside_the_configured_classes_are_row_errors():
    metric = F1(params={"labels": ["negative", "neutral", "positive"], "average": "macro"})
    assert "label 'mixed' is not one of the classes in params.labels ('negative', 'neutral', 'positive')" in reason(
        metric, label="mixed", prediction="positive"
    )
    assert "prediction 2 is not one of the classes in params.labels" in reason(metric, label="positive", prediction=2)
    assert "one-hot vector of 2 but the config names 3 classes" in reason(metric, label=[0, 1], prediction="neutral")
    assert "label 3 is not one of the classes in params.n_classes (0, 1, 2)" in reason(
        Mcc(params={"n_classes": 3}), label=3, prediction=1
    )


def test_predict_from_chooses_the_field():
    from_prediction = Accuracy(params={"predict_from": "prediction"})
    assert reason(from_prediction, label=1, prediction_scores=0.9) == "prediction is null"
    from_scores = Accuracy(params={"predict_from": "prediction_scores"})
    assert reason(from_scores, label=1, prediction=1) == "prediction_scores is null"
    assert outcome(from_scores, label=1, prediction=0, prediction_scores=0.9).stats == (1, 1, 4)
    assert outcome(Accuracy(), label=1, prediction=0, prediction_scores=0.9).stats == (1, 0, 0)


SCORE_ERRORS = [
    (1.7, "prediction_scores 1.7 is outside [0, 1]: it looks like a logit; set from_logits: true"),
    (-0.2, "prediction_scores -0.2 is outside [0, 1]: it looks like a logit; set from_logits: true"),
    (2, "prediction_scores 2 looks like a class, not a score: map that column to prediction"),
    (
        [2.1, -0.3, 0.5],
        "prediction_scores has values outside [0, 1] (-0.3 to 2.1): they look like logits; set from_logits: true",
    ),
    ([0.5, 0.4, 0.3], "prediction_scores sum to 1.2, not 1: set from_logits: true if they are logits"),
    (["high", "low"], "prediction_scores 'high' is not a number"),
    (float("nan"), "prediction_scores must be finite, got nan"),
    ([], "prediction_scores is an empty list"),
    ([[0.1, 0.9]], "prediction_scores must be a number or a flat list of numbers, got a nested list"),
    (True, "prediction_scores must be a number or a list of numbers, got bool"),
    ({"pos": 0.9}, "prediction_scores must be a number or a list of numbers, got dict"),
    (None, "prediction_scores is null"),
]


@pytest.mark.parametrize("cls", [AucRoc, LogLoss, Accuracy])
@pytest.mark.parametrize(("scores", "expected"), SCORE_ERRORS, ids=[e for _, e in SCORE_ERRORS])
def test_score_errors_are_row_errors_with_a_reason(cls, scores, expected):
    got = reason(cls(), label=1, prediction_scores=scores)
    assert expected in got or (
        cls is Accuracy and scores is None and got == "prediction and prediction_scores are null"
    )


def test_scores_as_numeric_strings_and_one_element_lists_are_read():
    assert outcome(LogLoss(), label=1, prediction_scores="0.25").stats == pytest.approx((-np.log(0.25), 1, 0))
    assert outcome(AucRoc(), label=0, prediction_scores=[0.25]).stats == (0.0, 0.0, 0.25)


def test_rounded_probabilities_pass_within_the_sum_tolerance():
    assert isinstance(outcome(LogLoss(), label=0, prediction_scores=[0.33, 0.33, 0.33]), Scored)
    assert "sum to 0.9" in reason(LogLoss(), label=0, prediction_scores=[0.3, 0.3, 0.3])
    assert isinstance(
        outcome(LogLoss(params={"sum_tolerance": 0.1}), label=0, prediction_scores=[0.3, 0.3, 0.3]), Scored
    )


CLASS_OF_SCORES_ERRORS = [
    (
        Accuracy,
        {},
        {"label": "pos", "prediction_scores": [0.2, 0.3, 0.5]},
        "label 'pos' is not a class of the 3 prediction_scores columns (0 to 2): set params.labels to the class names in column order",
    ),
    (
        LogLoss,
        {},
        {"label": 3, "prediction_scores": [0.2, 0.3, 0.5]},
        "label 3 is not a class of the 3 prediction_scores columns",
    ),
    (
        LogLoss,
        {"labels": ["a", "b", "c"]},
        {"label": "a", "prediction_scores": [0.4, 0.6]},
        "prediction_scores has 2 values but the config names 3 classes",
    ),
    (
        AucRoc,
        {"n_classes": 3},
        {"label": 1, "prediction_scores": 0.4},
        "prediction_scores is one number but the config names 3 classes: give one score per class",
    ),
    (
        AucRoc,
        {},
        {"label": 1, "prediction_scores": [0.2, 0.3, 0.5]},
        "prediction_scores has 3 values: set params.labels (or n_classes)",
    ),
    (
        F1,
        {},
        {"label": "spam", "prediction_scores": 0.9},
        "label 'spam' is not a class of a one-number score (0 or 1): set params.labels to the two classes, negative first",
    ),
    (
        LogLoss,
        {},
        {"label": 2, "prediction_scores": [0.5, 0.5]},
        "label 2 is not a class of the 2 prediction_scores columns",
    ),
]


@pytest.mark.parametrize(
    ("cls", "params", "fields", "expected"), CLASS_OF_SCORES_ERRORS, ids=[e[:40] for *_, e in CLASS_OF_SCORES_ERRORS]
)
def test_a_label_that_is_not_a_class_of_the_scores_is_a_row_error(cls, params, fields, expected):
    assert expected in reason(cls(params=params), **fields)


def test_one_hot_labels_are_decoded_with_a_warning():
    rows = [
        {"label": [0, 1, 0], "prediction": 1},
        {"label": [1, 0, 0], "prediction": [0, 0, 1]},
        {"label": 2, "prediction": 2},
    ]
    value, details = run(Accuracy(), rows)
    assert value == pytest.approx(2 / 3)
    assert details["classes"] == [0, 1, 2]
    assert (
        "label was a one-hot vector in 2 of 3 rows: read as the class at the position of its 1" in details["warnings"]
    )
    assert (
        "prediction was a one-hot vector in 1 of 3 rows: read as the class at the position of its 1"
        in details["warnings"]
    )
    named, details = run(Accuracy(params={"labels": ["cat", "dog"]}), [{"label": [0, 1], "prediction": "dog"}] * 2)
    assert named == 1.0
    assert details["classes"] == ["cat", "dog"]


def test_predictions_partly_derived_from_scores_are_reported():
    rows = [
        {"label": 1, "prediction": 1},
        {"label": 0, "prediction_scores": 0.7},
        {"label": 0, "prediction_scores": [0.9, 0.1]},
    ]
    value, details = run(Accuracy(), rows)
    assert value == pytest.approx(2 / 3)
    assert details["predicted_from"] == "both"
    assert "2 of 3 rows had no prediction: their class was derived from prediction_scores" in details["warnings"]
    _, details = run(Accuracy(), rows[1:])
    assert details["predicted_from"] == "prediction_scores"
    assert not any("derived" in w for w in details["warnings"])


PROBABILITY_ROWS = [
    {"label": 0, "prediction_scores": [0.7, 0.2, 0.1]},
    {"label": 1, "prediction_scores": [0.3, 0.6, 0.1]},
    {"label": 2, "prediction_scores": [0.2, 0.3, 0.5]},
    {"label": 2, "prediction_scores": [0.5, 0.2, 0.3]},
]


@pytest.mark.parametrize(
    "metric",
    [
        Accuracy(params={"from_logits": True}),
        AucRoc(params={"n_classes": 3, "from_logits": True}),
        LogLoss(params={"from_logits": True}),
    ],
    ids=["accuracy", "auc_roc", "log_loss"],
)
def test_probabilities_given_as_logits_are_warned_about(metric):
    _, details = run(metric, PROBABILITY_ROWS)
    assert any(
        "from_logits is true but every row's prediction_scores look like probabilities" in w
        for w in details["warnings"]
    )
    rows = [*PROBABILITY_ROWS, {"label": 0, "prediction_scores": [2.0, -1.0, 0.5]}]
    _, details = run(metric, rows)
    assert not any("look like probabilities" in w for w in details["warnings"])


@pytest.mark.parametrize("cls", [AucRoc, LogLoss])
def test_hard_zero_one_scores_are_warned_about(cls):
    rows = [{"label": t, "prediction_scores": p} for t, p in [(1, 1), (0, 0), (1, 0), (0, 1.0), (1, [0, 1])]]
    _, details = run(cls(), rows)
    assert any("every prediction_scores value is exactly 0 or 1" in w for w in details["warnings"])
    _, details = run(cls(), [*rows, {"label": 1, "prediction_scores": 0.8}])
    assert not any("exactly 0 or 1" in w for w in details["warnings"])


def test_predicted_classes_missing_from_the_labels_are_warned_about():
    rows = [{"label": "positive", "prediction": "Positive"}, {"label": "negative", "prediction": "negative"}]
    _, details = run(F1(params={"average": "macro"}), rows)
    assert "predicted classes that no row has as its label: 'Positive' (1 rows)" in details["warnings"][0]
    rows = [{"label": "positive", "prediction": "positive"}, {"label": 1, "prediction": 1}]
    _, details = run(Accuracy(), rows)
    assert any("classes mix numbers and names (1, 'positive')" in w for w in details["warnings"])


def test_integer_strings_and_integers_are_one_class():
    value, details = run(
        Mcc(), [{"label": "1", "prediction": 1}, {"label": 0, "prediction": "0"}, {"label": True, "prediction": 1.0}]
    )
    assert value == 1.0
    assert details["classes"] == [0, 1]


def accuracy_rows(correct: int, n: int = 20, majority: int = 14) -> list[dict[str, Any]]:
    """n rows, ``majority`` of class 'neg'; the first ``correct`` rows predicted right."""
    labels = ["neg"] * majority + ["pos"] * (n - majority)
    wrong = {"neg": "pos", "pos": "neg"}
    return [{"label": y, "prediction": y if i < correct else wrong[y]} for i, y in enumerate(labels)]


@pytest.mark.parametrize(
    ("correct", "expected"),
    [
        (12, "accuracy 0.6000 is below the majority-class baseline 0.7000 (always predicting 'neg')"),
        (14, "accuracy 0.7000 is within 5 points of the majority-class baseline 0.7000 (always predicting 'neg')"),
        (17, None),
    ],
)
def test_accuracy_near_the_majority_baseline_is_warned_about(correct, expected):
    value, details = run(Accuracy(), accuracy_rows(correct))
    assert value == correct / 20
    assert details["majority_class"] == "neg"
    assert details["majority_baseline"] == 0.7
    assert details["prevalence"] == [0.7, 0.3]
    assert details["accuracy_minus_baseline"] == pytest.approx(value - 0.7)
    baseline_warnings = [w for w in details["warnings"] if "majority-class baseline" in w]
    assert len(baseline_warnings) == (0 if expected is None else 1)
    if expected:
        assert baseline_warnings[0].startswith(expected)
    _, details = run(Accuracy(params={"baseline_margin": 0.0}), accuracy_rows(15))
    assert not any("majority-class baseline" in w for w in details["warnings"])


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (
            [{"label": 0, "prediction": 1}, {"label": 2, "prediction": 2}, {"label": 1, "prediction": 1}],
            "average 'binary' needs two classes, the data has 3 (0, 1, 2): set params.average to macro, micro or weighted",
        ),
        (
            [{"label": "ham", "prediction": "spam"}, {"label": "spam", "prediction": "spam"}],
            "average 'binary' cannot tell which of 'ham', 'spam' is positive: set params.labels to [negative, positive]",
        ),
        (
            [{"label": 2, "prediction": 3}, {"label": 3, "prediction": 3}],
            "average 'binary' takes 1 as the positive class, which is not among 2, 3",
        ),
    ],
)
@pytest.mark.parametrize("cls", [Precision, Recall, F1])
def test_binary_average_without_a_positive_class_is_undetermined_with_a_warning(cls, rows, expected):
    value, details = run(cls(), rows)
    assert value is None
    assert any(w.startswith(expected) for w in details["warnings"])


def test_binary_average_reports_its_positive_class():
    _, details = run(F1(), [{"label": 0, "prediction": 1}, {"label": 1, "prediction": 1}])
    assert details["positive_class"] == 1
    _, details = run(F1(params={"labels": ["ham", "spam"]}), [{"label": "ham", "prediction": "spam"}] * 2)
    assert details["positive_class"] == "spam"


def test_undefined_ratios_are_warned_about():
    rows = [{"label": 0, "prediction": 0}, {"label": 1, "prediction": 0}, {"label": 2, "prediction": 3}]
    _, details = run(Precision(params={"average": "macro"}), rows)
    assert (
        "precision is undefined for classes never predicted: 1, 2; counted as 0 (params.zero_division)"
        in details["warnings"]
    )
    _, details = run(Recall(params={"average": "macro", "zero_division": 1}), rows)
    assert (
        "recall is undefined for classes absent from the labels: 3; counted as 1 (params.zero_division)"
        in details["warnings"]
    )
    _, details = run(Recall(params={"average": "weighted"}), rows)
    assert not any("undefined" in w for w in details["warnings"])


def test_auc_undefined_cases_are_undetermined_with_a_warning():
    value, details = run(AucRoc(), [{"label": 1, "prediction_scores": 0.8}, {"label": 1, "prediction_scores": 0.3}])
    assert value is None
    assert "AUC is undefined: every row's label is 1" in details["warnings"]
    rows = [
        {"label": t, "prediction_scores": p}
        for t, p in [(0, [0.6, 0.3, 0.1]), (1, [0.2, 0.7, 0.1]), (0, [0.4, 0.4, 0.2])]
    ]
    for params in ({"n_classes": 3}, {"n_classes": 3, "multi_class": "ovo"}):
        value, details = run(AucRoc(params=params), rows)
        assert value is None
        assert any(
            w.startswith("AUC is undefined: classes 2 have no rows with that label") for w in details["warnings"]
        )


def test_log_loss_no_better_than_the_class_frequencies_is_warned_about():
    rows = [{"label": t, "prediction_scores": p} for t, p in [(1, 0.5), (0, 0.6), (1, 0.4), (0, 0.5)]]
    value, details = run(LogLoss(), rows)
    assert details["baseline_log_loss"] == pytest.approx(np.log(2))
    assert value > details["baseline_log_loss"]
    assert any(w.startswith(f"log loss {value:.4f} is no better than 0.6931") for w in details["warnings"])


PARAM_ERRORS = [
    (
        "accuracy",
        {"labels": ["yes", "no"]},
        "contains true/false (YAML reads yes/no/on/off as booleans): quote class names",
        True,
    ),
    ("accuracy", {"labels": ["a", "b", "a"]}, "lists 'a' more than once", False),
    ("accuracy", {"labels": ["a"]}, "needs at least two classes", False),
    ("log_loss", {"labels": ["a", "b"], "n_classes": 2}, "set labels or n_classes, not both", False),
    (
        "f1",
        {"labels": ["a", "b", "c"]},
        "average 'binary' needs two classes but 3 are configured: set average to macro, micro or weighted",
        False,
    ),
    (
        "auc_roc",
        {"multi_class": "ovo", "average": "micro"},
        "average 'micro' is defined for multi_class 'ovr' only",
        False,
    ),
    ("confusion_matrix", {"normalize": "true"}, "'true' is not allowed", False),
    ("accuracy", {"threshold": 1.5}, "less than or equal to 1", False),
]


@pytest.mark.parametrize(
    ("name", "params", "expected", "unquoted"), PARAM_ERRORS, ids=[e[:40] for _, _, e, _ in PARAM_ERRORS]
)
def test_bad_params_are_config_errors(tmp_path, registry, name, params, expected, unquoted):
    write_jsonl(tmp_path / "data.jsonl", [{"label": 1, "prediction": 1, "prediction_scores": 0.9}])
    config = {"name": "bad", "dataset": {"path": "data.jsonl"}, "metrics": [{"name": name, "params": params}]}
    text = yaml.safe_dump(config)
    if unquoted:
        text = text.replace("'yes'", "yes").replace("'no'", "no")
    (tmp_path / "task.yaml").write_text(text)
    with pytest.raises(ConfigError) as error:
        load_task(tmp_path / "task.yaml", registry)
    assert "metrics[0].params" in str(error.value)
    assert expected in str(error.value)


def write_task(tmp_path: Path, rows: list[dict[str, Any]], metrics: list[Any], **dataset: Any) -> Path:
    write_jsonl(tmp_path / "data.jsonl", rows)
    config = {
        "name": "cls",
        "dataset": {"path": "data.jsonl", **dataset},
        "metrics": metrics,
        "bootstrap": {"resamples": 50},
    }
    (tmp_path / "task.yaml").write_text(yaml.safe_dump(config))
    return tmp_path / "task.yaml"


def test_label_metrics_need_prediction_or_prediction_scores(tmp_path, registry):
    path = write_task(tmp_path, [{"label": 1, "guess": 1}], ["accuracy", "auc_roc"])
    task = load_task(path, registry)
    with pytest.raises(DataError) as error:
        task.field_columns(task.source.scan())
    message = str(error.value)
    assert "metric 'accuracy' needs field 'prediction' or 'prediction_scores'" in message
    assert "metric 'auc_roc' needs field 'prediction_scores'" in message
    path = write_task(
        tmp_path, [{"label": 1, "probability": 0.8}], ["accuracy"], columns={"prediction_scores": "probability"}
    )
    task = load_task(path, registry)
    assert task.field_columns(task.source.scan()) == {"label": "label", "prediction_scores": "probability"}


def spam_rows() -> list[dict[str, Any]]:
    rng = np.random.default_rng(11)
    rows = []
    for i in range(60):
        spam = bool(rng.random() < 0.35)
        logit = round(float(rng.normal(1.2 if spam else -0.8, 1.3)), 3)
        rows.append({"msg": f"m{i:02d}", "gold": "spam" if spam else "ham", "logit": logit})
    rows[3]["gold"] = [0, 1] if rows[3]["gold"] == "spam" else [1, 0]
    rows.append({"msg": "m60", "gold": "ham", "logit": [0.2, 0.1, -1.0]})
    rows.append({"msg": "m61", "gold": None, "logit": 0.4})
    return rows


def test_a_binary_run_writes_curves_thresholds_and_warnings(tmp_path, registry):
    classes = {"labels": ["ham", "spam"], "from_logits": True}
    metrics = [
        {"name": "accuracy", "params": classes},
        {"name": "f1", "params": classes},
        {"name": "confusion_matrix", "params": classes},
        {"name": "auc_roc", "params": {**classes, "max_curve_points": 30}},
        {"name": "log_loss", "params": classes},
    ]
    columns = {"label": "gold", "prediction_scores": "logit"}
    path = write_task(tmp_path, spam_rows(), metrics, id_column="msg", columns=columns)
    result = run_task(load_task(path, registry), tmp_path / "out")
    aggregate = json.loads((tmp_path / "out" / "aggregate.json").read_text())

    rows = spam_rows()[:60]
    truth = np.array([r["gold"] if isinstance(r["gold"], str) else ["ham", "spam"][r["gold"].index(1)] for r in rows])
    p = 1 / (1 + np.exp(-np.array([r["logit"] for r in rows])))
    predicted = np.where(p >= 0.5, "spam", "ham")
    expected = {
        "accuracy": skm.accuracy_score(truth, predicted),
        "f1": skm.f1_score(truth, predicted, pos_label="spam"),
        "confusion_matrix": skm.accuracy_score(truth, predicted),
        "auc_roc": skm.roc_auc_score(truth == "spam", p),
        "log_loss": skm.log_loss(truth, p, labels=["ham", "spam"]),
    }
    for name, value in expected.items():
        entry = aggregate["metrics"][name]
        assert entry["value"] == pytest.approx(value, abs=1e-9), name
        assert (entry["n"], entry["n_errors"], entry["n_undetermined"]) == (60, 2, 0)
        assert entry["ci95"][0] <= entry["value"] <= entry["ci95"][1]

    auc = aggregate["details"]["auc_roc"]
    assert auc["positive_class"] == "spam"
    assert len(auc["roc"]["fpr"]) <= 30 and auc["roc"]["threshold"][0] is None
    assert set(auc["precision_recall"]) == {"precision", "recall", "threshold"}
    assert set(auc["thresholds"]) == {"max_f1", "max_youden_j"}
    best = auc["thresholds"]["max_f1"]
    assert best["f1"] == pytest.approx(skm.f1_score(truth == "spam", p >= best["threshold"]), abs=1e-12)
    assert best["f1"] >= expected["f1"]
    assert aggregate["details"]["confusion_matrix"]["matrix"] == skm.confusion_matrix(truth, predicted).tolist()

    report = (tmp_path / "out" / "report.md").read_text()
    assert "## Warnings" in report
    one_hot = "label was a one-hot vector in 1 of 60 rows: read as the class at the position of its 1"
    (line,) = [line for line in report.splitlines() if line.endswith(one_hot)]
    assert "auc_roc" in line.split(":")[0]
    assert result.aggregate["warnings"] == aggregate["warnings"]

    samples = {row["id"]: row for row in read_jsonl(tmp_path / "out" / "samples.jsonl")}
    assert "prediction_scores has 3 values" in samples["m60"]["errors"]["auc_roc"]
    assert samples["m61"]["errors"]["accuracy"] == "label is null"


def test_statistics_in_rows_reproduce_the_corpus_scores(tmp_path, registry):
    """A resumed run re-reads statistics from samples.jsonl: they must be self-contained."""
    path = REPO / "configs" / "classification.yaml"
    result = run_task(load_task(path, registry), tmp_path / "out")
    rows = read_jsonl(tmp_path / "out" / "samples.jsonl")
    task = load_task(path, registry)
    for configured in task.metrics:
        stats = stack_statistics([tuple(row["stats"][configured.alias]) for row in rows[::-1]])
        got = configured.metric.corpus_scores(stats)[""]
        assert got == pytest.approx(result.aggregate["metrics"][configured.alias]["value"], abs=1e-12)


def test_the_example_config_equals_sklearn_and_does_not_depend_on_batch_size(tmp_path, registry):
    path = REPO / "configs" / "classification.yaml"
    data = read_jsonl(REPO / "examples" / "classification" / "reviews.jsonl")
    names = ["negative", "neutral", "positive"]
    truth = [r["sentiment"] for r in data]
    predicted = [r["predicted"] for r in data]
    probs = np.array([r["probabilities"] for r in data])
    expected = {
        "accuracy": skm.accuracy_score(truth, predicted),
        "balanced_accuracy": skm.balanced_accuracy_score(truth, predicted),
        "macro_f1": skm.f1_score(truth, predicted, average="macro"),
        "weighted_precision": skm.precision_score(truth, predicted, average="weighted"),
        "mcc": skm.matthews_corrcoef(truth, predicted),
        "confusion_matrix": skm.accuracy_score(truth, predicted),
        "auc_roc": skm.roc_auc_score(truth, probs / probs.sum(axis=1, keepdims=True), multi_class="ovr"),
        "auc_roc_ovo": skm.roc_auc_score(truth, probs / probs.sum(axis=1, keepdims=True), multi_class="ovo"),
        "log_loss": skm.log_loss(truth, probs, labels=names),
    }
    whole = run_task(load_task(path, registry), tmp_path / "a").aggregate
    single = run_task(load_task(path, registry, overrides=["batch_size=1"]), tmp_path / "b").aggregate
    for name, value in expected.items():
        assert whole["metrics"][name]["value"] == pytest.approx(value, abs=1e-9), name
        assert single["metrics"][name]["value"] == whole["metrics"][name]["value"]
        assert single["metrics"][name]["ci95"] == whole["metrics"][name]["ci95"]
    assert whole["details"] == single["details"]
    matrix = whole["details"]["confusion_matrix"]
    assert matrix["classes"] == names
    assert matrix["matrix"] == skm.confusion_matrix(truth, predicted, labels=names).tolist()
    assert matrix["normalized"] == pytest.approx(skm.confusion_matrix(truth, predicted, labels=names, normalize="true"))
    assert [c["class"] for c in whole["details"]["auc_roc"]["per_class"]] == names


@pytest.mark.parametrize(
    "cls", [Accuracy, BalancedAccuracy, Precision, Recall, F1, Mcc, ConfusionMatrix, AucRoc, LogLoss]
)
def test_conformance_kit(cls):
    from rageval.testing import check_metric

    check_metric(cls)
