"""The plugin author's own tests: known values, and the rageval conformance kit.

pytest examples/custom-plugin
"""

import importlib.util
from pathlib import Path

import pytest

from rageval.testing import check_metric, samples_from_rows

spec = importlib.util.spec_from_file_location("contains_answer", Path(__file__).with_name("contains_answer.py"))
contains_answer = importlib.util.module_from_spec(spec)
spec.loader.exec_module(contains_answer)
ContainsAnswer = contains_answer.ContainsAnswer


def test_passes_the_conformance_kit():
    check_metric(ContainsAnswer)
    check_metric(ContainsAnswer, params={"whole_words": False, "case_sensitive": True})


@pytest.mark.parametrize(
    ("answer", "references", "params", "expected"),
    [
        ("The capital is Paris.", ["Paris"], {}, 1.0),
        ("the capital is paris", ["Paris"], {"case_sensitive": True}, 0.0),
        ("A Parisian cafe.", ["Paris"], {}, 0.0),
        ("A Parisian cafe.", ["Paris"], {"whole_words": False}, 1.0),
        ("Two  hundred people", ["two hundred"], {}, 1.0),
    ],
)
def test_known_values(answer, references, params, expected):
    metric = ContainsAnswer(params=params)
    (sample,) = samples_from_rows([{"prediction": answer, "references": references}])
    assert metric.sample_statistics(sample) == (expected, 1.0)
