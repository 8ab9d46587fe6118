"""Classification metrics: labels as integers, names or one-hot vectors; scores as probabilities or logits.

Fields: ``label`` (the true class) and ``prediction`` (a predicted class) and/or
``prediction_scores`` (one probability for the positive class, or one score per class).
Label metrics take ``prediction``, or derive it from ``prediction_scores`` when a row has no
prediction (argmax, or ``threshold`` for one probability); ``auc_roc`` and ``log_loss`` need
``prediction_scores``. Results equal scikit-learn's on the same inputs.

Classic mistakes are caught per row, so every row is accounted for: logits given as
probabilities, probability vectors in the prediction field, class indices in the scores
field, multi-label rows, a label that is not a class of the scores. What was assumed
(a one-hot label decoded) is reported as a warning.
"""

from __future__ import annotations

from rageval.hookspecs import hookimpl
from rageval.metric import Metric
from rageval.metrics.classification.label_metrics import (
    F1,
    Accuracy,
    BalancedAccuracy,
    ConfusionMatrix,
    Mcc,
    Precision,
    Recall,
)
from rageval.metrics.classification.score_metrics import AucRoc, LogLoss

__all__ = [
    "F1",
    "Accuracy",
    "AucRoc",
    "BalancedAccuracy",
    "ConfusionMatrix",
    "LogLoss",
    "Mcc",
    "Precision",
    "Recall",
]


@hookimpl
def rageval_metrics() -> list[type[Metric]]:
    return [Accuracy, BalancedAccuracy, Precision, Recall, F1, Mcc, ConfusionMatrix, AucRoc, LogLoss]
