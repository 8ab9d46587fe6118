"""rageval compare: paired deltas, bootstrap and randomization p-values, refusals with their reasons."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import sacrebleu
from helpers import run_cli, write_jsonl
from sklearn.metrics import roc_auc_score

from rageval.compare import compare_runs
from rageval.config import parse_config
from rageval.errors import ConfigError, DataError
from rageval.runner import run_task
from rageval.significance import p_value, paired_bootstrap, paired_randomization
from rageval.task import build_task

WORDS = [
    "the",
    "a",
    "cat",
    "dog",
    "sat",
    "ran",
    "on",
    "under",
    "mat",
    "house",
    "big",
    "small",
    "red",
    "blue",
    "green",
    "old",
    "new",
]


def corpus(n=40, seed=0):
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 12))) for _ in range(n)]


def noisy(refs, rate, seed):
    rng = random.Random(seed)
    return [" ".join(w if rng.random() > rate else rng.choice(WORDS) for w in ref.split()) for ref in refs]


def make_run(tmp_path, registry, name, hyps, refs, metrics=("bleu", "wer"), ids=None, **changes):
    ids = list(range(len(hyps))) if ids is None else ids
    rows = [{"id": i, "hyp": h, "ref": r} for i, h, r in zip(ids, hyps, refs)]
    data = write_jsonl(tmp_path / f"{name}.jsonl", rows)
    raw = {
        "name": name,
        "dataset": {"path": str(data), "id_column": "id", "columns": {"prediction": "hyp", "references": "ref"}},
        "metrics": list(metrics),
        "bootstrap": {"resamples": 20},
        **changes,
    }
    run_task(build_task(parse_config(raw), registry, tmp_path), tmp_path / name)
    return tmp_path / name


@pytest.fixture
def refs():
    return corpus()


def test_a_run_against_itself_has_zero_delta_and_p_one(tmp_path, registry, refs):
    a = make_run(tmp_path, registry, "A", noisy(refs, 0.3, 1), refs)
    result = compare_runs([a, a], registry, resamples=200, trials=200)
    for name in ("bleu", "wer"):
        base, same = result["scores"][name]["runs"]
        assert base["delta"] is None and base["p_bootstrap"] is None
        assert same["delta"] == 0 and same["delta_ci95"] == [0.0, 0.0]
        assert same["p_bootstrap"] == 1.0 and same["p_randomization"] == 1.0
        assert (
            same["value"] == base["value"] == json.loads((a / "aggregate.json").read_text())["metrics"][name]["value"]
        )


def test_a_clearly_better_system_gets_the_smallest_p(tmp_path, registry, refs):
    good, bad = noisy(refs, 0.1, 1), noisy(refs, 0.6, 2)
    a = make_run(tmp_path, registry, "A", good, refs)
    b = make_run(tmp_path, registry, "B", bad, refs)
    result = compare_runs([a, b], registry, resamples=300, trials=500, seed=4)
    assert result["baseline"] == "A" and result["n_shared"] == len(refs) and result["warnings"] == []
    bleu = result["scores"]["bleu"]["runs"][1]
    expected = sacrebleu.corpus_bleu(bad, [refs]).score - sacrebleu.corpus_bleu(good, [refs]).score
    assert bleu["delta"] == pytest.approx(expected, abs=1e-9) and expected < -20
    assert bleu["p_bootstrap"] == pytest.approx(1 / 301) and bleu["p_randomization"] == pytest.approx(1 / 501)
    assert bleu["delta_ci95"][1] < 0
    wer = result["scores"]["wer"]["runs"][1]
    assert wer["delta"] > 0 and wer["delta_ci95"][0] > 0 and wer["p_bootstrap"] < 0.01


def test_p_values_follow_their_definitions_on_resampled_texts(tmp_path, registry):
    refs = corpus(25, seed=7)
    base, system = noisy(refs, 0.3, 3), noisy(refs, 0.25, 4)
    a = make_run(tmp_path, registry, "A", base, refs, metrics=["bleu"])
    b = make_run(tmp_path, registry, "B", system, refs, metrics=["bleu"])
    resamples, trials, seed, n = 150, 150, 11, len(refs)
    entry = compare_runs([a, b], registry, resamples=resamples, trials=trials, seed=seed)["scores"]["bleu"]["runs"][1]

    def bleu(hyps, rows):
        return sacrebleu.corpus_bleu([hyps[i] for i in rows], [[refs[i] for i in rows]]).score

    everything = sorted(range(n), key=json.dumps)  # rows are paired in the order of their ids' JSON text
    observed = bleu(system, everything) - bleu(base, everything)
    rng = np.random.default_rng(seed)
    deltas = []
    for _ in range(resamples):
        rows = np.repeat(everything, np.bincount(rng.integers(0, n, size=n), minlength=n))
        deltas.append(bleu(system, rows) - bleu(base, rows))
    spread = np.abs(deltas)
    expected_p = (np.sum(spread - spread.mean() >= abs(observed) - 1e-9) + 1) / (resamples + 1)
    assert entry["delta"] == pytest.approx(observed, abs=1e-9)
    assert entry["p_bootstrap"] == pytest.approx(expected_p)
    assert entry["delta_ci95"] == pytest.approx(list(np.percentile(deltas, [2.5, 97.5])), abs=1e-9)

    rng = np.random.default_rng(seed)
    swaps = rng.integers(0, 2, size=(trials, n), dtype=np.int8).astype(bool)
    shuffled = []
    for swap in swaps:
        moved = {i for i, swapped in zip(everything, swap) if swapped}
        first = [system[i] if i in moved else base[i] for i in range(n)]
        second = [base[i] if i in moved else system[i] for i in range(n)]
        shuffled.append(abs(bleu(first, everything) - bleu(second, everything)))
    expected_ar = (np.sum(np.asarray(shuffled) >= abs(observed) - 1e-9) + 1) / (trials + 1)
    assert entry["p_randomization"] == pytest.approx(expected_ar)
    assert 0.01 < entry["p_randomization"] < 1


def test_metrics_whose_statistics_do_not_add_are_compared_on_their_rows(tmp_path, registry):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, size=60)
    sharp = np.clip(labels * 0.6 + rng.normal(0.2, 0.15, size=60), 0, 1)
    vague = np.clip(labels * 0.1 + rng.normal(0.45, 0.2, size=60), 0, 1)
    runs = []
    for name, scores in [("sharp", sharp), ("vague", vague)]:
        rows = [{"id": i, "label": int(y), "p": float(s)} for i, (y, s) in enumerate(zip(labels, scores))]
        data = write_jsonl(tmp_path / f"{name}.jsonl", rows)
        raw = {
            "name": name,
            "dataset": {"path": str(data), "id_column": "id", "columns": {"prediction_scores": "p"}},
            "metrics": ["auc_roc"],
            "bootstrap": {"resamples": 10},
        }
        run_task(build_task(parse_config(raw), registry, tmp_path), tmp_path / name)
        runs.append(tmp_path / name)
    result = compare_runs([runs[0], runs[1], runs[0]], registry, resamples=200, trials=200)
    base, vague_entry, same = result["scores"]["auc_roc"]["runs"]
    assert base["value"] == pytest.approx(roc_auc_score(labels, sharp))
    assert vague_entry["delta"] == pytest.approx(roc_auc_score(labels, vague) - roc_auc_score(labels, sharp))
    assert vague_entry["p_bootstrap"] < 0.02 and vague_entry["p_randomization"] < 0.02
    assert same["delta"] == 0 and same["p_bootstrap"] == 1.0 and same["p_randomization"] == 1.0
    assert result["runs"][0]["label"] != result["runs"][2]["label"]  # the same folder twice is told apart


def test_significance_functions_directly(registry):
    from rageval.metrics.asr import Wer

    metric = Wer()
    base = np.array([[1, 0, 0, 4], [0, 0, 0, 3], [2, 1, 0, 2]], dtype=float)
    assert paired_bootstrap(metric, base, metric, base, 0, 0)[""].p_value is None
    assert paired_randomization(metric, base, base, 0, 0) == {}
    with pytest.raises(ValueError, match="same rows"):
        paired_bootstrap(metric, base, metric, base[:2], 10, 0)
    assert p_value(np.array([]), 1.0) is None
    assert p_value(np.array([0.0, 2.0, 3.0]), 2.0) == pytest.approx(3 / 4)


def test_different_samples_are_refused_with_counts_and_forced_on_the_shared_ones(tmp_path, registry, refs):
    hyps = noisy(refs, 0.3, 1)
    a = make_run(tmp_path, registry, "A", hyps, refs)
    ids = [*range(2, len(refs)), 1000]
    b = make_run(tmp_path, registry, "B", [*hyps[2:], "x"], [*refs[2:], "y"], ids=ids)
    with pytest.raises(ConfigError) as caught:
        compare_runs([a, b], registry, resamples=10, trials=10)
    message = str(caught.value)
    assert "B lacks 2 of A's samples (e.g. id 0)" in message
    assert "B has 1 samples A lacks (e.g. id 1000)" in message
    assert message.endswith("(pass --force to compare anyway)") and "\n" not in message
    result = compare_runs([a, b], registry, resamples=10, trials=10, force=True)
    assert result["forced"] and result["warnings"][0].startswith("FORCED COMPARISON: B lacks 2")
    assert result["n_shared"] == len(refs) - 2
    assert result["scores"]["bleu"]["runs"][1]["delta"] == 0


def test_other_metric_settings_are_refused_naming_both_signatures(tmp_path, registry, refs):
    hyps = noisy(refs, 0.3, 1)
    a = make_run(tmp_path, registry, "A", hyps, refs, metrics=["bleu"])
    b = make_run(tmp_path, registry, "B", hyps, refs, metrics=[{"name": "bleu", "params": {"tokenize": "char"}}])
    with pytest.raises(ConfigError, match=r"metric 'bleu' differs: bleu\|.*tok:13a.* in A, bleu\|.*tok:char.* in B"):
        compare_runs([a, b], registry)
    forced = compare_runs([a, b], registry, resamples=20, trials=20, force=True)["scores"]["bleu"]["runs"][1]
    expected = sacrebleu.corpus_bleu(hyps, [refs], tokenize="char").score - sacrebleu.corpus_bleu(hyps, [refs]).score
    assert forced["delta"] == pytest.approx(expected, abs=1e-9)
    assert forced["p_bootstrap"] is not None and forced["p_randomization"] is None


def test_other_references_are_refused(tmp_path, registry, refs):
    hyps = noisy(refs, 0.3, 1)
    a = make_run(tmp_path, registry, "A", hyps, refs)
    changed = [*refs[:-2], "other", "refs"]
    b = make_run(tmp_path, registry, "B", hyps, changed)
    with pytest.raises(ConfigError, match=r"2 of the 40 shared samples have other references or inputs in B than in A"):
        compare_runs([a, b], registry)


def test_scores_in_some_runs_only_are_left_out_and_failed_rows_excluded(tmp_path, registry, refs):
    hyps = noisy(refs, 0.3, 1)
    a = make_run(tmp_path, registry, "A", hyps, refs, metrics=["bleu", "wer"])
    b = make_run(tmp_path, registry, "B", [None, *hyps[1:]], refs, metrics=["bleu"])
    result = compare_runs([a, b], registry, resamples=10, trials=10)
    assert list(result["scores"]) == ["bleu"]
    assert result["warnings"] == ["score 'wer' is only in A; it is left out"]
    assert result["scores"]["bleu"]["n"] == len(refs) - 1 and result["scores"]["bleu"]["n_excluded"] == 1
    base = result["scores"]["bleu"]["runs"][0]
    assert base["value"] == pytest.approx(sacrebleu.corpus_bleu(hyps[1:], [refs[1:]]).score)
    c = make_run(tmp_path, registry, "C", hyps, refs, metrics=["chrf"])
    with pytest.raises(ConfigError, match=r"the runs share no score to compare \(A: bleu, wer; C: chrf\)"):
        compare_runs([a, c], registry)


def test_folders_that_are_not_runs_are_one_line_errors(tmp_path, registry, refs):
    a = make_run(tmp_path, registry, "A", refs, refs, metrics=["bleu"])
    with pytest.raises(ConfigError, match="at least two run folders"):
        compare_runs([a], registry)
    with pytest.raises(ConfigError, match="no such run folder"):
        compare_runs([a, tmp_path / "nope"], registry)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match=r"empty: not a finished rageval run \(no aggregate.json\)"):
        compare_runs([a, tmp_path / "empty"], registry)
    with pytest.raises(ConfigError, match="must be 0 or more"):
        compare_runs([a, a], registry, resamples=-1)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "aggregate.json").write_text("{not json")
    with pytest.raises(DataError, match="aggregate.json: unreadable"):
        compare_runs([a, broken], registry)
    (broken / "aggregate.json").write_text("[]")
    with pytest.raises(DataError, match="not a rageval aggregate"):
        compare_runs([a, broken], registry)
    aggregate = json.loads((a / "aggregate.json").read_text())
    (broken / "aggregate.json").write_text(json.dumps(aggregate))
    with pytest.raises(ConfigError, match="no samples.jsonl"):
        compare_runs([a, broken], registry)
    (broken / "samples.jsonl").write_text('{"id": 0, "stats": {}}\n{"id": 0, "stats": {}}\n')
    with pytest.raises(DataError, match="line 2 repeats sample id 0"):
        compare_runs([a, broken], registry)
    (broken / "samples.jsonl").write_text('{"id": 0}\nnot json\n')
    with pytest.raises(DataError, match="line 2 is not valid JSON"):
        compare_runs([a, broken], registry)
    (broken / "samples.jsonl").write_text('{"stats": {}}\n')
    with pytest.raises(DataError, match="line 1 is not a rageval row"):
        compare_runs([a, broken], registry)
    aggregate["config"]["metrics"][0]["name"] = "blue"
    (broken / "aggregate.json").write_text(json.dumps(aggregate))
    with pytest.raises(ConfigError, match=r"broken: cannot rebuild its metrics: .*unknown metric 'blue'"):
        compare_runs([a, broken], registry)


def test_cli_compare_outputs(tmp_path, registry, refs):
    a = make_run(tmp_path, registry, "A", noisy(refs, 0.1, 1), refs)
    b = make_run(tmp_path, registry, "B", noisy(refs, 0.5, 2), refs)
    common = ["--resamples", "100", "--trials", "100", "--no-plugins"]
    table = run_cli("compare", str(a), str(b), *common)
    assert table.returncode == 0, table.stderr
    assert "comparison against A" in table.stdout and "baseline" in table.stdout and "0.0099 *" in table.stdout
    printed = json.loads(run_cli("compare", str(a), str(b), *common, "--format", "json").stdout)
    assert printed["scores"]["bleu"]["runs"][1]["p_bootstrap"] == pytest.approx(1 / 101)
    markdown = run_cli("compare", str(a), str(b), *common, "--format", "md", "--html", str(tmp_path / "c.html"))
    assert markdown.stdout.startswith("# Comparison") and "| bleu ↑ | A |" in markdown.stdout
    html = (tmp_path / "c.html").read_text()
    assert 'class="comparison"' in html and html.count('class="plot intervals"') == 2 and "<script" not in html
    assert 'class="worse"' in html


def test_cli_compare_refuses_in_one_line_and_forces_loudly(tmp_path, registry, refs):
    hyps = noisy(refs, 0.3, 1)
    a = make_run(tmp_path, registry, "A", hyps, refs, metrics=["bleu"])
    b = make_run(tmp_path, registry, "B", hyps[:-1], refs[:-1], metrics=["bleu"])
    refused = run_cli("compare", str(a), str(b))
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.splitlines() == [
        "rageval: error: not comparable: B lacks 1 of A's samples (e.g. id 39) (pass --force to compare anyway)"
    ]
    forced = run_cli(
        "compare", str(a), str(b), "--force", "--trials", "50", "--resamples", "50", "--html", str(tmp_path / "f.html")
    )
    assert forced.returncode == 0, forced.stderr
    assert "rageval: warning: FORCED COMPARISON: B lacks 1 of A's samples" in forced.stderr
    assert 'class="warn loud">FORCED COMPARISON' in (tmp_path / "f.html").read_text()
    usage = run_cli("compare", str(a))
    assert usage.returncode == 2 and "at least two run folders" in usage.stderr
