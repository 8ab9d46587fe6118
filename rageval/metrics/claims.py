"""Text units for the RAG metrics: sentences, claims, and the content words of a text.

Everything here is plain Python (no model), so the lexical evidence and the claim splitting
are the same whichever scorer checks the claims.

A *claim* is a sentence (or a clause after ``;``) that states something checkable: questions
and pure conversational filler ("that's true.", "I'm not sure.") are not claims, and a hedging
lead-in ("I'm not sure, but I know that ...") is removed before the claim is checked. An
answer with no claims is undetermined for faithfulness.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


ABBREVIATIONS = _words(
    "mr mrs ms dr prof sr jr st vs etc e.g i.e eg ie al fig no nos vol approx inc ltd co corp dept est jan feb mar "
    "apr jun jul aug sep sept oct nov dec u.s u.k u.n p.m a.m ph.d b.a m.a"
)
"""Words that end with a period without ending a sentence (lowercase, without the final period)."""

STOPWORDS = _words(
    """a an the and or but if then else of to in on at by for with from into onto over under about above below
    as than so such too very can could would should will shall may might must do does did done doing be is are was
    were been being am have has had having i me my mine we us our ours you your yours he him his she her hers it its
    they them their theirs this that these those there here what which who whom whose when where why how all any
    both each few more most other some own same not only just also s t d ll m re ve don doesn didn isn aren wasn
    weren haven hasn hadn won wouldn shouldn couldn cant can't lot lots much many really one ones get got go going
    make made thing things way even still yet ever again up down out off"""
)
"""Function words: they carry no checkable content, so lexical evidence ignores them."""

FILLER_WORDS = _words(
    """yes yeah yep yup no nope oh ah ahh hmm hm um uh wow well ok okay sure think thought know knew believe
    guess agree agreed true right correct cool interesting nice great awesome good love like lol haha indeed question
    actually honestly probably maybe perhaps definitely certainly absolutely exactly totally heard hear say said
    sounds sound seems seem fun neat wonderful amazing"""
)
"""Conversational words that make no claim on their own ("oh yes, I agree")."""

_SENTENCE_END = re.compile(r"([.!?]+[\"')\]]*)(\s+)")
_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
_LEAD_IN = re.compile(
    r"^(?:(?:yes|yeah|yep|no|nope|oh|ah|well|so|ok|okay|hmm|wow|sure|actually|honestly|indeed|right|true|"
    r"i\s*(?:'|’)?\s*m\s+not\s+sure|i\s+am\s+not\s+sure|i\s+(?:don|do\s+not|didn|did\s+not)\s*(?:'|’)?\s*t?\s*know|"
    r"i\s+(?:do\s+)?(?:know|think|believe|guess|heard|read|remember)(?:\s+that)?|did\s+you\s+know(?:\s+that)?|"
    r"(?:that|it)\s*(?:'|’)?\s*s\s+(?:true|right|correct|interesting|cool)|that\s+is\s+(?:true|right|correct)|"
    r"not\s+sure|but|and)\b[\s,;:!.-]*)+",
    re.IGNORECASE,
)


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``, split at ``.``, ``!``, ``?`` and line breaks, keeping abbreviations whole.

    Works on ordinary prose and on tokenised dialogue text ("it is . they are").
    """
    sentences: list[str] = []
    for block in re.split(r"\n\s*|\r", text):
        start = 0
        for match in _SENTENCE_END.finditer(block):
            end = match.end(1)
            if _is_abbreviation(block[start : match.start(1)], match.group(1)):
                continue
            piece = block[start:end].strip()
            if piece:
                sentences.append(piece)
            start = match.end()
        tail = block[start:].strip()
        if tail:
            sentences.append(tail)
    return [s for s in sentences if _TOKEN.search(s)]


def _is_abbreviation(before: str, punctuation: str) -> bool:
    if not punctuation.startswith(".") or len(punctuation) > 1:
        return False
    words = before.rstrip().split()
    if not words or before != before.rstrip():
        return False
    last = words[-1].lower().lstrip("(\"'")
    if len(last) == 1 and last.isalpha():
        return True
    return last in ABBREVIATIONS


def tokens(text: str) -> list[str]:
    """Lowercase word tokens; contractions split off ("they're" -> "they", "re")."""
    out: list[str] = []
    for token in _TOKEN.findall(text.lower()):
        out.extend(part for part in re.split(r"['’]", token) if part)
    return out


def normalise_token(token: str) -> str:
    """A light suffix-stripping stem, enough to match "covered" with "cover" and "cooking" with "cooked"."""
    if not token.isalpha():
        return token
    if len(token) > 4 and token.endswith("ies"):
        token = token[:-3] + "y"
    elif len(token) > 5 and token.endswith("ing"):
        token = token[:-3]
    elif len(token) > 4 and token.endswith("ed"):
        token = token[:-2]
    elif len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
        token = token[:-1]
    if len(token) > 5 and token.endswith("ly"):
        token = token[:-2]
    if len(token) > 3 and token.endswith("e"):
        token = token[:-1]
    return token


def content_tokens(text: str) -> list[str]:
    """The normalised tokens of ``text`` that can carry a claim: no function words, no filler."""
    return [normalise_token(t) for t in tokens(text) if t not in STOPWORDS and t not in FILLER_WORDS]


def strip_lead_in(sentence: str) -> str:
    """``sentence`` without a conversational lead-in ("well, i think that ...")."""
    stripped = _LEAD_IN.sub("", sentence).strip()
    return stripped if stripped and _TOKEN.search(stripped) else sentence.strip()


def is_claim(sentence: str) -> bool:
    """Whether a sentence states something checkable: not a question, not filler alone."""
    if sentence.rstrip().rstrip("\"')]").endswith("?"):
        return False
    return bool(content_tokens(sentence))


@dataclass(frozen=True)
class Claim:
    """One claim of a text."""

    text: str
    """The claim without its conversational lead-in: what is checked."""
    span: str
    """The claim as written, with the questions and filler before it (and, for the last claim, after it)."""


def extract_claims(text: str) -> list[Claim]:
    """The claims of a text, in order. Questions and filler belong to the span of the next claim."""
    claims: list[Claim] = []
    pending: list[str] = []
    for sentence in split_sentences(text):
        for clause in re.split(r"\s*;\s+", sentence):
            if is_claim(clause):
                claims.append(Claim(strip_lead_in(clause), " ".join([*pending, clause])))
                pending = []
            else:
                pending.append(clause)
    if pending and claims:
        last = claims[-1]
        claims[-1] = Claim(last.text, " ".join([last.span, *pending]))
    return claims


def split_claims(text: str) -> list[str]:
    """The claims of a text, in order, each without its conversational lead-in."""
    return [claim.text for claim in extract_claims(text)]


def lexical_support(claim: str, evidence: Iterable[str]) -> float:
    """Share of the claim's content tokens found in the evidence texts (1.0 when it has none)."""
    claim_tokens = content_tokens(claim)
    if not claim_tokens:
        return 1.0
    vocabulary: set[str] = set()
    for text in evidence:
        vocabulary.update(normalise_token(t) for t in tokens(text))
    return sum(token in vocabulary for token in claim_tokens) / len(claim_tokens)


def windows(sentences: Sequence[str], size: int) -> list[str]:
    """Every run of ``size`` consecutive sentences (the sentences themselves when there are fewer)."""
    if size <= 1 or len(sentences) <= 1:
        return list(sentences)
    if len(sentences) <= size:
        return [" ".join(sentences)]
    return [" ".join(sentences[i : i + size]) for i in range(len(sentences) - size + 1)]
