"""A local, deterministic classifier: a handful of precompiled patterns, microseconds a prompt."""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

from litellm_router_plugin.classify.base import ComplexityAnalysis, category_for_score
from litellm_router_plugin.classify.features import PromptShape

# The word patterns run on the lower-cased prompt: case-insensitive matching of long alternations
# costs about twice as much in Python's re.

_GREETING = re.compile(r"^\W*(hi|hello|hey|thanks|thank you|good (morning|evening|night)|ok(ay)?|bye)\b")
_CODE_BLOCK = re.compile(r"```|^\s{4,}\S|^\s*(def|class|import|from|function|const|let|var|public|#include)\b", re.M)
_CODE_ASK = re.compile(
    r"\b(implement|refactor|debug|optimi[sz]e|code|(?<!window )functions?|script|class|method|regex|"
    r"algorithm|unit tests?|api|endpoint|python|javascript|typescript|rust|golang|java|c\+\+|bash|compiler?|"
    r"stack trace|exception|bug|async/await|callbacks?)\b"
)
_SQL = re.compile(
    r"\b(select\b.{1,400}?\bfrom|join|group by|order by|where\b.{1,80}?=|sql|query|schema|index(es)?|"
    r"postgres(ql)?|mysql|sqlite|window functions?|cte|indexes)\b",
    re.S,
)
_MATH = re.compile(
    r"\\frac|\\sum|\\int|[∑∫√≤≥≠]|\b(equation|integral|derivative|matrix|probability|"
    r"eigen\w*|polynomial|modulo|primes?|integers?|irrational|logarithm|calculus|algebra|geometry|theorem|"
    r"lemma|solve for)\b"
)
# Arithmetic ("3 + 4", "x=2"): found from the operator, which is rarer than a position where a digit
# could start, then a digit looked for before it (a pattern starting with \d costs twice as much).
_OPERATOR_DIGIT = re.compile(r"[-+*/^=]\s*\d")
_PROOF = re.compile(r"\b(prove|proof|derive|derivation|rigorous(ly)?|formally|show that|induction)\b")
_MULTI_STEP = re.compile(
    r"\b(step[- ]by[- ]step|first\b.{1,300}?\bthen|plan|design|architect(ure)?|strategy|roadmap|migrat\w+|"
    r"trade-?offs?|compare|evaluate|analy[sz]e|pros and cons|in detail|comprehensive|end-to-end)\b",
    re.S,
)
_REASONING = re.compile(
    r"\b(why|reason(ing)?|justify|explain why|puzzle|riddle|logic(al)?|paradox|optimal|counterexample|"
    r"consequences?|implications?|what if|hypothes[ie]s|edge cases?|concurren\w+|race condition|"
    r"distributed|consisten(t|cy))\b"
)
_COMPOSE = re.compile(
    r"\b(explain|summari[sz]e|summary|describe|outline|essay|email|letter|story|review|rewrite|draft)\b"
)
_LIST_ITEM = re.compile(r"^\s*(\d+[.)]|[-*•])\s+", re.M)

# Gates: a word pattern above can only match if one of these words is a whole word of the prompt (or,
# for the ``\w+`` stems, a substring). One pass collecting the prompt's words costs about as much as
# one pattern and spares the patterns whose words are absent, most of them for most prompts.
# tests/test_classifiers.py checks every alternative of every pattern against its gate.
_WORD = re.compile(r"\w+")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_CODE_ASK_WORDS = _words(
    "implement refactor debug optimise optimize code function functions script class method regex "
    "algorithm unit api endpoint python javascript typescript rust golang java bash compile "
    "compiler stack exception bug async callback callbacks"
)
_SQL_WORDS = _words(
    "select join group order where sql query schema index indexes postgres postgresql mysql sqlite window cte"
)
_MATH_WORDS = _words(
    "equation integral derivative matrix probability polynomial modulo prime primes integer integers "
    "irrational logarithm calculus algebra geometry theorem lemma solve"
)
_MATH_STEMS = ("eigen", "\\", "∑", "∫", "√", "≤", "≥", "≠")
_PROOF_WORDS = _words("prove proof derive derivation rigorous rigorously formally show induction")
_MULTI_STEP_WORDS = _words(
    "step first plan design architect architecture strategy roadmap trade tradeoff tradeoffs compare "
    "evaluate analyse analyze pros detail comprehensive end"
)
_REASONING_WORDS = _words(
    "why reason reasoning justify puzzle riddle logic logical paradox optimal counterexample "
    "consequence consequences implication implications what hypothesis hypotheses edge race "
    "distributed consistent consistency"
)
_COMPOSE_WORDS = _words(
    "explain summarise summarize summary describe outline essay email letter story review rewrite draft"
)


@dataclass(frozen=True, slots=True)
class Gate:
    """A word pattern and what a prompt must hold for it to match: one of ``words``, or a ``stems`` substring."""

    pattern: re.Pattern[str]
    words: frozenset[str]
    stems: tuple[str, ...] = ()

    def may_match(self, words: set[str], low: str) -> bool:
        """False only if the pattern cannot match the lower-cased prompt ``low``, whose words are ``words``."""
        return not words.isdisjoint(self.words) or any(stem in low for stem in self.stems)

    def count(self, words: set[str], low: str) -> int:
        """How many times the pattern matches ``low`` (0 without running it when the gate is shut)."""
        return len(self.pattern.findall(low)) if self.may_match(words, low) else 0


# "c++" as a substring, not the word "c": every multiple-choice prompt has a "C." option.
_CODE_GATE = Gate(_CODE_ASK, _CODE_ASK_WORDS, ("c++",))
_SQL_GATE = Gate(_SQL, _SQL_WORDS)
_MATH_GATE = Gate(_MATH, _MATH_WORDS, _MATH_STEMS)
_PROOF_GATE = Gate(_PROOF, _PROOF_WORDS)
_MULTI_STEP_GATE = Gate(_MULTI_STEP, _MULTI_STEP_WORDS, ("migrat",))
_REASONING_GATE = Gate(_REASONING, _REASONING_WORDS, ("concurren",))
_COMPOSE_GATE = Gate(_COMPOSE, _COMPOSE_WORDS)
GATES = (_CODE_GATE, _SQL_GATE, _MATH_GATE, _PROOF_GATE, _MULTI_STEP_GATE, _REASONING_GATE, _COMPOSE_GATE)
"""Every gated pattern (the tests check each alternative against its gate)."""


# Weights of the continuous terms (chosen on subject-grouped folds of the development subjects of
# the MMLU outcome data, never on the held-out subjects; see README "Routing quality").
LENGTH_WEIGHT = 1.0
"""Per unit of ln(1 + chars / LENGTH_SCALE): longer prompts need more of a model, smoothly."""
LENGTH_SCALE = 250.0
OVERLAP_WEIGHT = 4.0
"""Per unit of ``PromptShape.option_overlap``: options that repeat each other's words ask for judgments."""
NUMERIC_OPTIONS_WEIGHT = -3.0
"""Per unit of ``PromptShape.numeric_options``: on outcome data a stronger model gains least on computed
answers (both models get them right, or both wrong)."""
MATH_WEIGHT = 0.5
MULTI_CAP = 5.0
"""Most that multi-step cues (plan, compare, steps, lists) add."""


def _arithmetic(low: str) -> bool:
    """A digit, optional space, an operator, optional space and a digit."""
    for match in _OPERATOR_DIGIT.finditer(low):
        i = match.start() - 1
        while i >= 0 and low[i].isspace():
            i -= 1
        if i >= 0 and low[i].isdecimal():
            return True
    return False


@dataclass(frozen=True, slots=True)
class HeuristicClassifier:
    """Scores a prompt 1-10 from its length, code, SQL, math, multi-step and reasoning cues.

    No network, no state: the same prompt always gets the same answer.
    """

    name: str = "heuristic"

    def classify(self, prompt: str) -> ComplexityAnalysis:
        """Rate ``prompt`` synchronously."""
        return self.classify_shaped(prompt)[0]

    def classify_shaped(self, prompt: str) -> tuple[ComplexityAnalysis, PromptShape]:
        """Rate ``prompt`` and return the shape read on the way, for a classifier built on top."""
        start = time.perf_counter()
        raw, cues, shape = self._score(prompt)
        return analysis_of(raw, cues, self.name, start), shape

    async def aclassify(self, prompt: str) -> ComplexityAnalysis:
        """Rate ``prompt``; the same as :meth:`classify`."""
        return self.classify(prompt)

    def strength(self, prompt: str) -> float:
        """The unrounded score: higher means the prompt more needs a strong model."""
        return self._score(prompt)[0]

    def strength_shaped(self, prompt: str) -> tuple[float, PromptShape]:
        """``strength`` and the shape read on the way."""
        raw, _, shape = self._score(prompt)
        return raw, shape

    def scored(self, prompt: str) -> tuple[float, list[str], PromptShape]:
        """``strength``, cues and shape: what ``analysis_of`` needs, for a classifier built on top."""
        return self._score(prompt)

    @staticmethod
    def _score(prompt: str) -> tuple[float, list[str], PromptShape]:
        text = prompt.strip()
        low = text.lower()
        return score_text(text, low, set(_WORD.findall(low)))


def analysis_of(
    raw: float,
    cues: list[str],
    classifier: str,
    start: float,
    learned: float | None = None,
    fallback_reason: str | None = None,
) -> ComplexityAnalysis:
    """The analysis of a prompt the heuristic scored ``raw`` with ``cues``; ``learned``: a learned strength
    that replaces ``raw`` as the strength (score and category stay the heuristic's). ``start``: the
    ``time.perf_counter()`` the rating began at."""
    score = max(1, min(10, int(raw + 0.5)))
    reasoning = "; ".join(cues) if cues else "short, plain request"
    if learned is not None:
        reasoning = f"learned strength {learned:.2f}; heuristic: {reasoning}"
    # Validated by pydantic-core, which costs about half of model_construct's Python loop over the fields.
    return ComplexityAnalysis(
        score=score,
        category=category_for_score(score),
        reasoning=reasoning,
        classifier=classifier,
        latency_ms=(time.perf_counter() - start) * 1000,
        fallback_reason=fallback_reason,
        cached=False,
        strength=raw if learned is None else learned,
    )


def score_text(text: str, low: str, words: set[str]) -> tuple[float, list[str], PromptShape]:
    """The heuristic's strength, cues and shape of the stripped prompt ``text``; ``low`` is
    ``text.lower()`` and ``words`` any set holding every ``\\w+`` word of ``low`` that a gate lists
    (more words only open more gates: the patterns decide), so a caller that has split the prompt
    already spares a pass."""
    shape = PromptShape.of(text)
    if _GREETING.search(low) and len(text.split()) <= 6:
        return 1.0, ["greeting or acknowledgement"], shape

    score = 1.0
    cues: list[str] = []
    # Splitting into words costs as much as a pattern: only where 400 words fit (801+ characters).
    if len(text) > 800 and (count := len(text.split())) > 400:
        cues.append(f"long prompt ({count} words)")

    code_asks = _CODE_GATE.count(words, low)
    if _CODE_BLOCK.search(text) or code_asks >= 2:
        score += 3.5 + (1 if code_asks >= 3 else 0)
        cues.append("code")
    elif code_asks:
        score += 1.5
        cues.append("mentions code")
    sql = _SQL_GATE.count(words, low)
    if sql:
        score += 3 + (1.5 if sql >= 3 else 0)
        cues.append("SQL")
    if (_MATH_GATE.may_match(words, low) and _MATH.search(low)) or _arithmetic(low):
        # Small on purpose: on real outcome data math alone barely separates weak from strong
        # models (both fail or both succeed); proofs, steps and reasoning cues carry the weight.
        score += MATH_WEIGHT
        cues.append("math")
    proofs = _PROOF_GATE.count(words, low)
    if proofs:
        score += 6 + min(proofs - 1, 1)
        cues.append("proof or derivation")

    multi = _MULTI_STEP_GATE.count(words, low) + min(len(_LIST_ITEM.findall(text)), 3)
    if multi:
        score += min(1.5 * multi, MULTI_CAP)
        cues.append("multi-step")
    reasons = _REASONING_GATE.count(words, low)
    if reasons:
        score += min(1.5 * reasons, 4)
        cues.append("reasoning cues")

    questions = text.count("?")
    if questions >= 2:
        score += 1 if questions < 4 else 2
        cues.append(f"{questions} questions")
    if score < 3.5 and _COMPOSE_GATE.may_match(words, low) and _COMPOSE.search(low):
        # Writing and explaining need a capable model even when nothing else flags the prompt.
        score = 3.5
        cues.append("explanation or writing")
    # Continuous terms last, so the strength orders prompts finely (few ties) and a threshold
    # can hit any share of traffic.
    score += LENGTH_WEIGHT * math.log1p(len(text) / LENGTH_SCALE)
    if shape.options:
        score += OVERLAP_WEIGHT * shape.option_overlap + NUMERIC_OPTIONS_WEIGHT * shape.numeric_options
        cues.append(f"{len(shape.options)} answer options")
    return score, cues, shape
