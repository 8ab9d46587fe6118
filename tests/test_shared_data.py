"""Published scores reproduced on the real evaluation data in ../shared/data (skipped without it)."""

from __future__ import annotations

import json

import pytest
from helpers import read_jsonl, run_cli, score, write_jsonl

from rageval.metrics.asr import Cer, Mer, Wer, Wil
from rageval.metrics.translation import Bleu, Chrf, Ter
from rageval.sample import Sample

WMT17 = ["C-3MA.4959", "FBK.4870"]


def _records(path):
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def _sacrebleu_case_samples(case):
    samples = []
    for position, hyp in enumerate(case["hypotheses"]):
        refs = [stream[position] for stream in case["references"] if stream[position] is not None]
        samples.append(Sample(id=position, prediction=hyp, references=refs))
    return samples


def _metric_for(case):
    settings = {k: v for k, v in case["settings"].items() if k not in ("level", "force")}
    if case["sacrebleu_call"].startswith("raw_corpus_bleu"):
        settings["effective_order"] = True  # sacrebleu's raw_corpus_bleu always uses it
    if case["metric"] == "bleu":
        return Bleu(params=settings)
    if case["metric"] == "chrf":
        return Chrf(params=settings)
    return Ter(params=settings)


def test_sacrebleu_unit_cases(shared_data):
    cases = _records(shared_data / "mt" / "sacrebleu_unit_cases.jsonl")
    assert len(cases) == 70
    for case in cases:
        corpus, per_sample = score(_metric_for(case), _sacrebleu_case_samples(case))
        got = per_sample[0][""] if case["settings"].get("level") == "sentence" else corpus[""]
        if case["score_scale"] != "0-100":
            got /= 100
        assert got == pytest.approx(case["expected_score"], abs=case["tolerance"]), case["id"]


@pytest.fixture(scope="module")
def wmt17_runs(tmp_path_factory):
    """Both WMT17 systems through the real command, once for the tests below."""
    root = tmp_path_factory.mktemp("wmt17")
    shared = pytest.importorskip("conftest").SHARED_DATA
    if not shared.is_dir():
        pytest.skip("shared data absent")
    runs = {}
    for system in WMT17:
        config = root / f"{system}.yaml"
        config.write_text(
            f"name: wmt17-{system}\n"
            f"dataset:\n  path: {shared / 'mt' / f'wmt17_newstest2017_en-de.{system}.jsonl'}\n"
            "  id_column: id\n  columns: {prediction: hypothesis}\n"
            "metrics:\n  - bleu\n  - {name: chrf, params: {eps_smoothing: true}}\n"
            "  - {name: chrf, as: chrf++, params: {word_order: 2, eps_smoothing: true}}\n  - ter\n"
            "bootstrap: {resamples: 100, seed: 1}\n"
        )
        result = run_cli("run", str(config), "-o", str(root / system), "--quiet")
        assert result.returncode == 0, result.stderr
        runs[system] = json.loads((root / system / "aggregate.json").read_text())
    return runs


def test_wmt17_published_scores(shared_data, wmt17_runs):
    expected = json.loads((shared_data / "mt" / "expected_scores.json").read_text())["wmt17_newstest2017_en-de"]
    for system in WMT17:
        metrics = wmt17_runs[system]["metrics"]
        published = expected["metrics"]
        assert metrics["bleu"]["value"] == pytest.approx(published["BLEU"]["scores"][system], abs=0.01)
        assert metrics["chrf"]["value"] == pytest.approx(published["chrF"]["scores"][system], abs=1e-4)
        assert metrics["chrf++"]["value"] == pytest.approx(published["chrF++"]["scores"][system], abs=1e-4)
        assert metrics["ter"]["value"] / 100 == pytest.approx(published["TER"]["scores"][system], abs=1e-3)
        assert metrics["bleu"]["n"] == 3004 and metrics["bleu"]["n_errors"] == 0


def test_wmt22_two_references_each_and_both(shared_data, tmp_path):
    expected = json.loads((shared_data / "mt" / "expected_scores.json").read_text())["wmt22_generaltest2022_en-de"]
    flat = json.dumps(expected)
    for system in ["JDExploreAcademy", "OpenNMT"]:
        rows = _records(shared_data / "mt" / f"wmt22_generaltest2022_en-de.{system}.jsonl")
        for refs_name, pick in [("A", [0]), ("B", [1]), ("all", [0, 1])]:
            samples = [
                Sample(id=r["id"], prediction=r["hypothesis"], references=[r["references"][i] for i in pick])
                for r in rows
            ]
            bleu, _ = score(Bleu(), samples)
            chrf, _ = score(Chrf(), samples)
            assert str(bleu[""])[:10] in flat, (system, refs_name, bleu[""])
            assert str(chrf[""])[:10] in flat, (system, refs_name, chrf[""])


def test_sctk_corpus_wer_is_169_of_1406(shared_data, tmp_path):
    rows = read_jsonl(shared_data / "asr" / "sctk_csrnab_sclite.jsonl")
    data = write_jsonl(tmp_path / "asr.jsonl", rows)
    config = tmp_path / "asr.yaml"
    config.write_text(
        f"name: sctk\ndataset:\n  path: {data}\n  id_column: id\n"
        "  columns: {prediction: hypothesis, references: reference}\nmetrics: [wer]\n"
    )
    result = run_cli("run", str(config), "-o", str(tmp_path / "out"), "--quiet")
    assert result.returncode == 0, result.stderr
    wer = json.loads((tmp_path / "out" / "aggregate.json").read_text())["metrics"]["wer"]
    assert wer["value"] == pytest.approx(169 / 1406, abs=1e-12)
    assert wer["n"] == 51


def _jiwer_case_samples(case):
    ref, hyp = case["reference"], case["hypothesis"]
    if case["transform"] == "wer_contiguous":
        ref = " ".join(ref) if isinstance(ref, list) else ref
        hyp = " ".join(hyp) if isinstance(hyp, list) else hyp
    refs = ref if isinstance(ref, list) else [ref]
    hyps = hyp if isinstance(hyp, list) else [hyp]
    return [Sample(id=i, prediction=h, references=[r]) for i, (r, h) in enumerate(zip(refs, hyps))]


def test_jiwer_unit_cases(shared_data):
    cases = _records(shared_data / "asr" / "jiwer_unit_cases.jsonl")
    assert len(cases) == 42
    metrics = {"wer": Wer(), "mer": Mer(), "wil": Wil(), "cer": Cer()}
    checked = 0
    for case in cases:
        samples = _jiwer_case_samples(case)
        for name, metric in metrics.items():
            if name in case["expected"]:
                corpus, _ = score(metric, samples)
                assert corpus[""] == pytest.approx(case["expected"][name], abs=1e-9), (case["id"], name)
                checked += 1
    assert checked == 96
