"""RAG metrics: faithfulness, answer relevance, context relevance, semantic similarity, context recall.

All run offline by default on all-MiniLM-L6-v2 (packaged with the ``[models]`` extra); an NLI
classifier can check claims instead (``scorer: nli``). Statistics are additive: each sample
contributes its score and a 1 to a determined-count (0 and 0 when undetermined: no claims,
no contexts), so corpus scores are means over determined samples and never NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from rageval.errors import ConfigError
from rageval.hookspecs import hookimpl
from rageval.metric import Failed, Metric, MetricInfo, Outcome, Scored, ScoreSpec, distribution_version, format_param
from rageval.metrics.claims import split_sentences
from rageval.metrics.evidence import EmbeddingChecker, Evidence, NLIChecker, check_lexical, pack_windows
from rageval.models import PACKAGED_MINILM, ModelOptions, ModelSource, resolve_model, shared_embedder, shared_nli
from rageval.models import shared_fingerprint as _shared_fingerprint
from rageval.sample import InvalidSample, Sample, references_field, text_field

DEFAULT_NLI_MODEL = "MoritzLaurer/DeBERTa-v3-base-mnli-fever-anli"
MODEL_LIBRARIES = ("torch", "transformers", "sentence-transformers")
_EXECUTION_PARAMS = frozenset({"model", "revision", "device", "batch_size", "scorer"})


def contexts_field(sample: Sample) -> list[str]:
    """The sample's contexts as a list of strings (a single string is one context)."""
    value = sample.contexts
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)):
        kind = "null" if value is None else type(value).__name__
        raise InvalidSample(f"contexts must be a list of strings, got {kind}")
    for position, item in enumerate(value):
        if not isinstance(item, str):
            kind = "null" if item is None else type(item).__name__
            raise InvalidSample(f"contexts[{position}] must be a string, got {kind}")
    return list(value)


def _mean_scores(totals: np.ndarray, keys: Sequence[str]) -> dict[str, float | None]:
    """Sums in ``totals[:-1]`` divided by the determined-count in ``totals[-1]``."""
    determined = float(totals[len(keys)])
    return {key: (float(totals[i]) / determined if determined else None) for i, key in enumerate(keys)}


class ModelBackedMetric(Metric):
    """Shared by the RAG metrics: which model a scorer uses, the shared instance, the signature."""

    default_models: ClassVar[dict[str, str | None]] = {
        "hybrid": PACKAGED_MINILM,
        "embedding": PACKAGED_MINILM,
        "nli": DEFAULT_NLI_MODEL,
        "lexical": None,
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.params.model and self.default_models.get(self.params.scorer, "") is None:
            raise ConfigError(
                f"{self.info.name}: params.model is set but scorer {self.params.scorer!r} uses no model; "
                f"remove it or pick a model scorer"
            )

    @cached_property
    def source(self) -> ModelSource | None:
        """The model this metric's scorer uses (``None`` for a scorer without one); checked before scoring."""
        name = self.params.model or self.default_models.get(self.params.scorer)
        if name is None:
            return None
        return resolve_model(
            name, self.params.revision, param="params.model", owner=self.info.name, base_dir=self.context.base_dir
        )

    def embedder(self) -> Any:
        return shared_embedder(self.context, self.source, self.params)

    def nli(self) -> Any:
        return shared_nli(self.context, self.source, self.params, getattr(self.params, "entailment_label", None))

    def signature(self) -> str:
        parts = [self.info.name, f"scorer:{self.params.scorer}"]
        source = self.source
        if source is None:
            parts.append("model:none")
        else:
            parts.append(f"model:{source.name}")
            if source.origin:
                parts.append(f"from:{source.origin}")
            parts.append(_shared_fingerprint(self.context, source))
        skip = _EXECUTION_PARAMS if source is not None else _EXECUTION_PARAMS | set(ModelOptions.model_fields)
        for key, value in self.params.model_dump().items():
            if key not in skip:
                parts.append(f"{key}:{format_param(value)}")
        if source is not None:
            parts += [f"{lib}:{distribution_version(lib)}" for lib in self.info.libraries]
        parts.append(f"rageval:{distribution_version('rageval')}")
        return "|".join(parts)


class ClaimParams(ModelOptions):
    scorer: Literal["hybrid", "embedding", "lexical", "nli"] = Field(
        "hybrid", description="how a claim is checked against the contexts (see docs/faithfulness.md)"
    )
    threshold: float = Field(
        0.5, ge=0.0, le=1.0, description="support probability at which a claim counts as supported"
    )
    entailment_label: int | str | None = Field(
        None, description="nli: output index or label name of entailment (default: read from the model's id2label)"
    )


class ClaimMetric(ModelBackedMetric):
    """Split a text into claims and check each against the contexts with the configured scorer."""

    def check(self, batch: Sequence[Evidence]) -> list[list[Any]]:
        scorer = self.params.scorer
        if scorer == "lexical":
            return check_lexical(batch, self.params.threshold)
        if scorer == "nli":
            return NLIChecker(self.nli(), self.params.batch_size)(batch, self.params.threshold)
        return EmbeddingChecker(self.embedder(), self.params.batch_size, scorer == "hybrid")(
            batch, self.params.threshold
        )


class Faithfulness(ClaimMetric):
    info = MetricInfo(
        name="faithfulness",
        description="Share of the answer's claims supported by the contexts, averaged over answers; "
        "undetermined for an answer with no claims.",
        fields=("prediction", "contexts"),
        higher_is_better=True,
        params=ClaimParams,
        scores=(
            ScoreSpec("", True, "mean over answers of supported claims / claims"),
            ScoreSpec("micro", True, "supported claims / claims over the corpus"),
            ScoreSpec("support", True, "mean over answers of the claims' mean support probability"),
        ),
        libraries=MODEL_LIBRARIES,
    )

    def score_batch(self, samples: Sequence[Sample]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(samples)
        positions, batch = [], []
        for position, sample in enumerate(samples):
            try:
                answer = text_field(sample, "prediction")
                contexts = contexts_field(sample)
            except InvalidSample as reason:
                outcomes[position] = Failed(str(reason))
                continue
            positions.append(position)
            batch.append(Evidence.of(answer, contexts))
        if batch:
            for position, item, checks in zip(positions, batch, self.check(batch)):
                outcomes[position] = self._outcome(item, checks)
        return outcomes  # type: ignore[return-value]

    @staticmethod
    def _outcome(item: Evidence, checks: list[Any]) -> Scored:
        if not checks:
            return Scored((0.0, 0.0, 0.0, 0.0, 0.0), {"claims": [], "undetermined": "the answer makes no claim"})
        supported = sum(c.supported for c in checks)
        support = float(np.mean([c.probability for c in checks]))
        stats = (supported / len(checks), 1.0, float(supported), float(len(checks)), support)
        return Scored(stats, {"claims": [c.as_detail() for c in checks]})

    def scores_from_totals(self, totals: np.ndarray) -> dict[str, float | None]:
        score_sum, determined, supported, claims, support_sum = (float(x) for x in totals)
        return {
            "": score_sum / determined if determined else None,
            "micro": supported / claims if claims else None,
            "support": support_sum / determined if determined else None,
        }


class ContextRecall(ClaimMetric):
    info = MetricInfo(
        name="context_recall",
        description="Share of the reference's sentences supported by the contexts (best reference), averaged.",
        fields=("references", "contexts"),
        higher_is_better=True,
        params=ClaimParams,
        libraries=MODEL_LIBRARIES,
    )

    def score_batch(self, samples: Sequence[Sample]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(samples)
        owners, batch = [], []
        for position, sample in enumerate(samples):
            try:
                refs = references_field(sample)
                contexts = contexts_field(sample)
            except InvalidSample as reason:
                outcomes[position] = Failed(str(reason))
                continue
            for ref in refs:
                owners.append(position)
                batch.append(Evidence.of(ref, contexts))
        per_ref: dict[int, list[list[Any]]] = {}
        if batch:
            for position, checks in zip(owners, self.check(batch)):
                per_ref.setdefault(position, []).append(checks)
        for position, results in per_ref.items():
            determined = [r for r in results if r]
            if not determined:
                outcomes[position] = Scored((0.0, 0.0, 0.0, 0.0), {"undetermined": "the references make no claim"})
                continue
            best = max(determined, key=lambda r: sum(c.supported for c in r) / len(r))
            supported = sum(c.supported for c in best)
            stats = (supported / len(best), 1.0, float(supported), float(len(best)))
            outcomes[position] = Scored(stats, {"sentences": [c.as_detail() for c in best]})
        return outcomes  # type: ignore[return-value]

    def scores_from_totals(self, totals: np.ndarray) -> dict[str, float | None]:
        return _mean_scores(totals, [""])


class EmbeddingParams(ModelOptions):
    scorer: Literal["embedding"] = Field("embedding", description="cosine similarity of sentence embeddings")


class AnswerRelevance(ModelBackedMetric):
    info = MetricInfo(
        name="answer_relevance",
        description="Cosine similarity of the question and the answer embeddings; an empty answer scores 0.",
        fields=("question", "prediction"),
        higher_is_better=True,
        params=EmbeddingParams,
        libraries=MODEL_LIBRARIES,
    )

    def score_batch(self, samples: Sequence[Sample]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(samples)
        pairs: list[tuple[int, str, str]] = []
        for position, sample in enumerate(samples):
            try:
                question = text_field(sample, "question")
                answer = text_field(sample, "prediction")
            except InvalidSample as reason:
                outcomes[position] = Failed(str(reason))
                continue
            if not answer.strip():
                outcomes[position] = Scored((0.0, 1.0), {"note": "empty answer"})
            elif not question.strip():
                outcomes[position] = Scored((0.0, 0.0), {"undetermined": "empty question"})
            else:
                pairs.append((position, question, answer))
        if pairs:
            texts = [t for _, q, a in pairs for t in (q, a)]
            vectors = self.embedder().encode(texts, self.params.batch_size)
            for k, (position, _, _) in enumerate(pairs):
                similarity = float(np.clip(vectors[2 * k] @ vectors[2 * k + 1], -1.0, 1.0))
                outcomes[position] = Scored((similarity, 1.0))
        return outcomes  # type: ignore[return-value]

    def scores_from_totals(self, totals: np.ndarray) -> dict[str, float | None]:
        return _mean_scores(totals, [""])


class ContextRelevanceParams(EmbeddingParams):
    relevance_threshold: float = Field(
        0.35, ge=-1.0, le=1.0, description="similarity at which a context counts as relevant (for precision)"
    )


class ContextRelevance(ModelBackedMetric):
    info = MetricInfo(
        name="context_relevance",
        description="Similarity of the question to each retrieved context: mean, max, and rank-aware precision.",
        fields=("question", "contexts"),
        higher_is_better=True,
        params=ContextRelevanceParams,
        scores=(
            ScoreSpec("", True, "mean over samples of the mean question-context similarity"),
            ScoreSpec("max", True, "mean over samples of the best question-context similarity"),
            ScoreSpec("precision", True, "average precision of the ranking, relevant = similarity >= threshold"),
        ),
        libraries=MODEL_LIBRARIES,
    )

    def score_batch(self, samples: Sequence[Sample]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(samples)
        items: list[tuple[int, str, list[list[str]]]] = []
        embedder = None
        for position, sample in enumerate(samples):
            try:
                question = text_field(sample, "question")
                contexts = contexts_field(sample)
            except InvalidSample as reason:
                outcomes[position] = Failed(str(reason))
                continue
            if not contexts or not question.strip():
                why = "no contexts" if not contexts else "empty question"
                outcomes[position] = Scored((0.0, 0.0, 0.0, 0.0), {"undetermined": why})
                continue
            embedder = embedder or self.embedder()
            items.append((position, question, [self._windows(embedder, c) for c in contexts]))
        if items:
            texts = [q for _, q, _ in items] + [w for _, _, ws in items for c in ws for w in c]
            vectors = dict(zip(texts, embedder.encode(texts, self.params.batch_size)))
            for position, question, windows in items:
                sims = [max(float(vectors[question] @ vectors[w]) for w in ws) if ws else -1.0 for ws in windows]
                sims = [float(np.clip(s, -1.0, 1.0)) for s in sims]
                precision = average_precision([s >= self.params.relevance_threshold for s in sims])
                stats = (float(np.mean(sims)), max(sims), precision, 1.0)
                outcomes[position] = Scored(stats, {"similarities": [round(s, 4) for s in sims]})
        return outcomes  # type: ignore[return-value]

    @staticmethod
    def _windows(embedder: Any, context: str) -> list[str]:
        if not context.strip():
            return []
        if embedder.count_tokens([context])[0] <= embedder.max_length:
            return [context]
        sentences = split_sentences(context) or [context]
        return pack_windows(sentences, embedder.count_tokens(sentences), embedder.max_length - 2)

    def scores_from_totals(self, totals: np.ndarray) -> dict[str, float | None]:
        return _mean_scores(totals, ["", "max", "precision"])


def average_precision(relevant: Sequence[bool]) -> float:
    """Mean of precision@k at the ranks k of relevant items; 0.0 when none is relevant."""
    hits, total = 0, 0.0
    for rank, is_relevant in enumerate(relevant, start=1):
        if is_relevant:
            hits += 1
            total += hits / rank
    return total / hits if hits else 0.0


class SimilarityParams(ModelOptions):
    scorer: Literal["embedding", "nli"] = Field(
        "embedding", description="embedding: cosine similarity; nli: mean entailment probability both ways"
    )
    entailment_label: int | str | None = Field(None, description="nli: output index or label name of entailment")


class SemanticSimilarity(ModelBackedMetric):
    info = MetricInfo(
        name="semantic_similarity",
        description="Similarity of the answer to the closest reference (embedding cosine or two-way entailment).",
        fields=("prediction", "references"),
        higher_is_better=True,
        params=SimilarityParams,
        libraries=MODEL_LIBRARIES,
    )

    def score_batch(self, samples: Sequence[Sample]) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(samples)
        items: list[tuple[int, str, list[str]]] = []
        for position, sample in enumerate(samples):
            try:
                answer = text_field(sample, "prediction")
                refs = [r for r in references_field(sample) if r.strip()]
            except InvalidSample as reason:
                outcomes[position] = Failed(str(reason))
                continue
            if not refs:
                outcomes[position] = Scored((0.0, 0.0), {"undetermined": "every reference is empty"})
            elif not answer.strip():
                outcomes[position] = Scored((0.0, 1.0), {"note": "empty answer"})
            else:
                items.append((position, answer, refs))
        if not items:
            return outcomes  # type: ignore[return-value]
        if self.params.scorer == "nli":
            pairs = [pair for _, a, refs in items for r in refs for pair in ((r, a), (a, r))]
            probs = iter(self.nli().entailment_probability(pairs, self.params.batch_size))
            for position, _, refs in items:
                values = [(next(probs) + next(probs)) / 2.0 for _ in refs]
                outcomes[position] = Scored((float(max(values)), 1.0))
        else:
            texts = [t for _, a, refs in items for t in (a, *refs)]
            vectors = dict(zip(texts, self.embedder().encode(texts, self.params.batch_size)))
            for position, answer, refs in items:
                best = max(float(vectors[answer] @ vectors[r]) for r in refs)
                outcomes[position] = Scored((float(np.clip(best, -1.0, 1.0)), 1.0))
        return outcomes  # type: ignore[return-value]

    def scores_from_totals(self, totals: np.ndarray) -> dict[str, float | None]:
        return _mean_scores(totals, [""])


@hookimpl
def rageval_metrics() -> list[type[Metric]]:
    return [Faithfulness, AnswerRelevance, ContextRelevance, SemanticSimilarity, ContextRecall]
