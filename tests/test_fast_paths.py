"""The batched paths a run takes give exactly what the per-sample paths give.

Vectorised per-sample scores, batch accumulation, shared bootstrap draws, the id order and the
report data collected during the run are all shortcuts; each is checked here against the slow
path it replaces.
"""

from __future__ import annotations

import gc
import itertools
import json
import random
from pathlib import Path

import numpy as np
import pytest
import sacrebleu
from helpers import read_jsonl, write_jsonl

from rageval.aggregate import MetricAccumulator, id_sort_key, sample_order
from rageval.config import parse_config
from rageval.metric import Failed, Scored, finite_or_none
from rageval.metrics.asr import Cer, Mer, Wer, Wil
from rageval.metrics.translation import Bleu, Chrf, Ter
from rageval.reports.html import render_html_report
from rageval.runner import rare_full_collections, run_task
from rageval.sample import Sample
from rageval.stats import bootstrap_many, bootstrap_scores, resample_counts
from rageval.task import ConfiguredMetric, build_task

WORDS = ["the", "a", "cat", "dog", "sat", "on", "mat", "rug", ".", ",", "today"]


def random_samples(count: int, seed: int = 0) -> list[Sample]:
    rng = random.Random(seed)
    samples = []
    for index in range(count):
        hyp = " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 9)))
        refs = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 9))) for _ in range(rng.randint(1, 3))]
        samples.append(Sample(id=index, prediction=hyp, references=refs))
    return samples


BLEU_SETTINGS = [
    {},
    {"smooth_method": "floor"},
    {"smooth_method": "floor", "smooth_value": 0.3},
    {"smooth_method": "add-k"},
    {"smooth_method": "add-k", "smooth_value": 2},
    {"smooth_method": "none"},
    {"max_ngram_order": 2},
    {"max_ngram_order": 6, "smooth_method": "none"},
]


@pytest.mark.parametrize("params", BLEU_SETTINGS)
def test_batched_sentence_bleu_equals_sacrebleu(params):
    metric = Bleu(params=params)
    samples = random_samples(300)
    stats = np.array([o.stats for o in metric.score_batch(samples)])
    batched = metric.sample_scores_many(stats)[""]
    reference = sacrebleu.BLEU(**{**params, "effective_order": True})
    for sample, row, value in zip(samples, stats, batched):
        assert value == pytest.approx(reference.sentence_score(sample.prediction, sample.references).score, abs=1e-9)
        assert metric.sample_scores(row.copy())[""] == value


@pytest.mark.parametrize("params", [{}, {"word_order": 2}, {"eps_smoothing": True}, {"beta": 3, "word_order": 1}])
def test_batched_sentence_chrf_equals_sacrebleu(params):
    metric = Chrf(params=params)
    samples = random_samples(200, seed=1)
    stats = np.array([o.stats for o in metric.score_batch(samples)])
    reference = sacrebleu.CHRF(**params)
    for sample, value in zip(samples, metric.sample_scores_many(stats)[""]):
        assert value == pytest.approx(reference.sentence_score(sample.prediction, sample.references).score, abs=1e-9)


def test_batched_sentence_ter_equals_sacrebleu():
    metric = Ter()
    samples = random_samples(100, seed=2)
    stats = np.array([o.stats for o in metric.score_batch(samples)])
    for sample, value in zip(samples, metric.sample_scores_many(stats)[""]):
        assert value == pytest.approx(sacrebleu.TER().sentence_score(sample.prediction, sample.references).score)


def jiwer_wer(s: float, d: float, i: float, h: float) -> float:
    return i if s + d + h == 0 else (s + d + i) / (s + d + h)


def jiwer_mer(s: float, d: float, i: float, h: float) -> float:
    if s + d + h == 0:
        return 0.0 if h + s + i == 0 else 1.0
    return (s + d + i) / (s + d + i + h)


def jiwer_wil(s: float, d: float, i: float, h: float) -> float:
    ref_len, hyp_len = s + d + h, h + s + i
    if ref_len == 0:
        return 0.0 if hyp_len == 0 else 1.0
    return 1.0 if hyp_len == 0 else 1.0 - (h / ref_len) * (h / hyp_len)


@pytest.mark.parametrize(
    "metric, formula",
    [(Wer(), jiwer_wer), (Cer(), jiwer_wer), (Mer(), jiwer_mer), (Wil(), jiwer_wil)],
    ids=["wer", "cer", "mer", "wil"],
)
def test_batched_edit_rates_equal_jiwers_formulas_row_by_row(metric, formula):
    counts = np.array(list(itertools.product([0, 1, 2, 5], repeat=4)), dtype=float)
    batched = metric.sample_scores_many(counts)[""]
    for row, value in zip(counts, batched):
        assert value == formula(*row.tolist())
        assert metric.sample_scores(row)[""] == value


def test_per_sample_bleu_leaves_its_statistics_alone():
    """sacrebleu's add-k smoothing adds to the vector it is given; the row kept must not change."""
    metric = Bleu(params={"smooth_method": "add-k"})
    row = np.array(metric.score_batch([Sample(id=0, prediction="a cat sat", references=["the cat sat"])])[0].stats)
    kept = row.copy()
    metric.sample_scores(row)
    metric.scores_from_totals(row)
    assert np.array_equal(row, kept)


def test_add_batch_equals_add_one_sample_at_a_time(registry):
    configured = ConfiguredMetric(alias="bleu", metric=Bleu(), plugin="rageval", position=0)
    samples = random_samples(120, seed=3)
    outcomes = configured.metric.score_batch(samples)
    outcomes[5] = Failed("broken")
    outcomes[77] = Failed("broken too")
    one, many = MetricAccumulator(configured), MetricAccumulator(configured)
    records = [one.add(s.id, o) for s, o in zip(samples, outcomes)]
    batched = []
    for start in range(0, len(samples), 32):
        chunk = slice(start, start + 32)
        batched += many.add_batch([s.id for s in samples[chunk]], outcomes[chunk])
    assert batched == records
    assert (one.n_errors, one.sums, one.counts, one.undetermined) == (
        many.n_errors,
        many.sums,
        many.counts,
        many.undetermined,
    )
    assert np.array_equal(one.statistics(), many.statistics())
    assert one.summary(50, 0, "sig") == many.summary(50, 0, "sig")


def test_sample_order_is_the_order_of_the_json_keys():
    ids = [10, 9, -3, 100, "b", "a", 'q"uote', "back\\slash", "ünï", "line\nbreak", "\u2028", 0, "10", 2**70]
    random.Random(4).shuffle(ids)
    assert sample_order(ids) == sorted(range(len(ids)), key=lambda i: id_sort_key(ids[i]))


def _plain_bootstrap(metric, stats, resamples, seed):
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {}
    for _ in range(resamples):
        counts = resample_counts(rng, stats.shape[0])
        for key, value in metric.scores_from_totals(counts.astype(stats.dtype) @ stats).items():
            if finite_or_none(value) is not None:
                draws.setdefault(key, []).append(float(value))
    return draws


@pytest.mark.parametrize("rows", [1, 9, 70_000])
def test_shared_bootstrap_draws_equal_one_bootstrap_per_metric(rows):
    rng = np.random.default_rng(5)
    bleu_stats = rng.integers(0, 20, size=(rows, 10)).astype(float)
    bleu_stats[:, 2:6] = np.minimum(bleu_stats[:, 2:6], bleu_stats[:, 6:10])
    wer_stats = rng.integers(0, 9, size=(rows, 4)).astype(float)
    shorter = wer_stats[: max(1, rows // 2)]
    jobs = [(Bleu(), bleu_stats), (Wer(), wer_stats), (Wer(), shorter)]
    shared = bootstrap_many(jobs, 70, seed=11)
    assert shared == [bootstrap_scores(metric, stats, 70, 11) for metric, stats in jobs]
    assert shared == [_plain_bootstrap(metric, stats, 70, 11) for metric, stats in jobs]


def _task(tmp_path, registry, rows, **changes):
    data = write_jsonl(tmp_path / "data.jsonl", rows)
    raw = {
        "name": "fast",
        "dataset": {"path": str(data), "id_column": "id", "columns": {"prediction": "hyp", "references": "refs"}},
        "metrics": ["bleu", {"name": "bleu", "as": "bleu_addk", "params": {"smooth_method": "add-k"}}, "wer"],
        "bootstrap": {"resamples": 100, "seed": 2},
        "batch_size": 7,
        **changes,
    }
    return build_task(parse_config(raw), registry, tmp_path)


def _rows(count):
    samples = random_samples(count, seed=6)
    rows = [{"id": f"r{s.id}", "hyp": s.prediction, "refs": s.references[:1]} for s in samples]
    rows[3]["refs"] = ["two", "references"]
    rows[8]["hyp"] = None
    return rows


def test_report_collected_during_the_run_equals_one_read_from_samples_jsonl(tmp_path, registry):
    result = run_task(_task(tmp_path, registry, _rows(60)), tmp_path / "out")
    written = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert written == render_html_report(result.aggregate, tmp_path / "out" / "samples.jsonl")


def test_written_statistics_are_the_metrics_own(tmp_path, registry):
    task = _task(tmp_path, registry, _rows(30))
    run_task(task, tmp_path / "out")
    addk = next(c.metric for c in task.metrics if c.alias == "bleu_addk")
    for row in read_jsonl(tmp_path / "out" / "samples.jsonl"):
        if "bleu_addk" in row["stats"]:
            sample = Sample(id=row["id"], **row["fields"])
            [outcome] = addk.score_batch([sample])
            assert isinstance(outcome, Scored)
            assert row["stats"]["bleu_addk"] == list(outcome.stats)
            assert row["scores"]["bleu_addk"] == addk.sample_scores(np.array(outcome.stats))[""]


def test_batch_size_does_not_change_a_single_number(tmp_path, registry):
    rows = _rows(50)
    small = run_task(_task(tmp_path / "a", registry, rows, batch_size=1), tmp_path / "a" / "out").aggregate
    large = run_task(_task(tmp_path / "b", registry, rows, batch_size=64), tmp_path / "b" / "out").aggregate
    assert json.dumps(small["metrics"]) == json.dumps(large["metrics"])


def test_collector_thresholds_are_restored():
    before = gc.get_threshold()
    with rare_full_collections():
        assert gc.get_threshold()[2] >= 1000
    assert gc.get_threshold() == before


def _chrf_inputs(count: int, seed: int) -> tuple[list[str], list[list[str | None]]]:
    rng = random.Random(seed)
    alphabet = "abcAB äöüß,.!?'-–\t\n\u00a0\u3000xyz日本語"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(4 * count)]
    hyps = texts[:count]
    streams: list[list[str | None]] = [texts[count : 2 * count]]
    for k in (2, 3):
        streams.append([t if rng.random() < 0.5 else None for t in texts[k * count : (k + 1) * count]])
    return hyps, streams


CHRF_SETTINGS = [
    {},
    {"word_order": 2},
    {"lowercase": True},
    {"whitespace": True},
    {"char_order": 1},
    {"char_order": 12, "word_order": 1, "eps_smoothing": True},
    {"beta": 1, "word_order": 6, "lowercase": True},
]


@pytest.mark.parametrize("params", CHRF_SETTINGS)
def test_batched_chrf_statistics_equal_sacrebleus(params):
    metric = Chrf(params=params)
    for seed in range(3):
        hyps, streams = _chrf_inputs(80, seed)
        for used in (streams[:1], streams):
            expected = np.array(sacrebleu.CHRF(**params)._extract_corpus_statistics(hyps, used))
            assert np.array_equal(np.asarray(metric._statistics(hyps, used)), expected)


def wmt22_pairs(shared_data: Path) -> tuple[list[str], list[list[str | None]]]:
    """Hypotheses and reference streams (``None`` where a segment has fewer references) of a WMT22 system."""
    with open(shared_data / "mt" / "wmt22_generaltest2022_en-de.OpenNMT.jsonl", encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle]
    width = max(len(row["references"]) for row in rows)
    streams = [[r["references"][k] if k < len(r["references"]) else None for r in rows] for k in range(width)]
    return [row["hypothesis"] for row in rows], streams


def test_chrf_statistics_on_wmt_equal_sacrebleus(shared_data):
    hyps, streams = wmt22_pairs(shared_data)
    for params in ({}, {"word_order": 2}):
        got = np.asarray(Chrf(params=params)._statistics(hyps, streams))
        assert np.array_equal(got, np.array(sacrebleu.CHRF(**params)._extract_corpus_statistics(hyps, streams)))


def test_chrf_statistics_fall_back_to_sacrebleu_where_the_batch_path_cannot_go():
    wide = "".join(chr(0x4E00 + i) for i in range(3000))
    hyps = [wide[:40], "lone \ud800 surrogate", "plain"]
    streams: list[list[str | None]] = [[wide[20:90], "lone \ud800 surrogate too", "plainly"]]
    expected = np.array(sacrebleu.CHRF()._extract_corpus_statistics(hyps, streams))
    assert np.array_equal(np.asarray(Chrf()._statistics(hyps, streams)), expected)
    assert np.array_equal(np.asarray(Chrf()._statistics(hyps[:1], [streams[0][:1]])), expected[:1])


BLEU_STATISTICS_SETTINGS = [
    {},
    {"lowercase": True},
    {"tokenize": "none"},
    {"tokenize": "char"},
    {"tokenize": "intl"},
    {"tokenize": "zh"},
    {"max_ngram_order": 2},
    {"max_ngram_order": 9},
]


@pytest.mark.parametrize("params", BLEU_STATISTICS_SETTINGS)
def test_batched_bleu_statistics_equal_sacrebleus(params):
    metric = Bleu(params=params)
    reference = sacrebleu.BLEU(**{k: v for k, v in params.items()}, force=True)
    for seed in range(3):
        hyps, streams = _chrf_inputs(80, seed)
        hyps[0] = "the the the cat . ."
        streams[0][0] = "the cat the cat ."
        for used in (streams[:1], streams):
            expected = np.array(reference._extract_corpus_statistics(hyps, used))
            assert np.array_equal(np.asarray(metric._statistics(hyps, used)), expected)


def test_bleu_statistics_on_wmt_equal_sacrebleus(shared_data):
    hyps, streams = wmt22_pairs(shared_data)
    for params in ({}, {"tokenize": "intl", "lowercase": True}):
        for start in range(0, len(hyps), 500):
            part = [stream[start : start + 500] for stream in streams]
            got = np.asarray(Bleu(params=params)._statistics(hyps[start : start + 500], part))
            expected = sacrebleu.BLEU(**params, force=True)._extract_corpus_statistics(hyps[start : start + 500], part)
            assert np.array_equal(got, np.array(expected))


def test_bleu_statistics_fall_back_to_sacrebleu_for_a_huge_vocabulary():
    words = [f"w{i}" for i in range(5000)]
    hyps = [" ".join(words[:2500]), "a b"]
    streams: list[list[str | None]] = [[" ".join(words[2000:]), "a b c"]]
    metric = Bleu(params={"tokenize": "none", "max_ngram_order": 6})
    expected = sacrebleu.BLEU(tokenize="none", max_ngram_order=6, force=True)._extract_corpus_statistics(hyps, streams)
    assert np.array_equal(np.asarray(metric._statistics(hyps, streams)), np.array(expected))


def test_sample_order_of_integer_ids_is_the_order_of_their_json_keys():
    ids = [10, 9, -3, 100, 0, -25, 2**40, 7, 70, 700, -7]
    random.Random(8).shuffle(ids)
    assert sample_order(ids) == sorted(range(len(ids)), key=lambda i: id_sort_key(ids[i]))
    huge = [2**70, 5, 2**64]
    assert sample_order(huge) == sorted(range(3), key=lambda i: id_sort_key(huge[i]))
    assert sample_order([]) == []
