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
    r"(\d\s*[-+*/^=]\s*\d|\\frac|\\sum|\\int|[∑∫√≤≥≠]|\b(equation|integral|derivative|matrix|probability|"
    r"eigen\w*|polynomial|modulo|primes?|integers?|irrational|logarithm|calculus|algebra|geometry|theorem|"
    r"lemma|solve for)\b)"
)
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


@dataclass(frozen=True, slots=True)
class HeuristicClassifier:
    """Scores a prompt 1-10 from its length, code, SQL, math, multi-step and reasoning cues.

    No network, no state: the same prompt always gets the same answer.
    """

    name: str = "heuristic"

    def classify(self, prompt: str) -> ComplexityAnalysis:
        """Rate ``prompt`` synchronously."""
        start = time.perf_counter()
        raw, cues = self._score(prompt)
        score = max(1, min(10, int(raw + 0.5)))
        # model_construct: the fields are ours and already valid; validation would double the cost.
        return ComplexityAnalysis.model_construct(
            score=score,
            category=category_for_score(score),
            reasoning="; ".join(cues) if cues else "short, plain request",
            classifier=self.name,
            latency_ms=(time.perf_counter() - start) * 1000,
            fallback_reason=None,
            cached=False,
            strength=raw,
        )

    async def aclassify(self, prompt: str) -> ComplexityAnalysis:
        """Rate ``prompt``; the same as :meth:`classify`."""
        return self.classify(prompt)

    def strength(self, prompt: str) -> float:
        """The unrounded score: higher means the prompt more needs a strong model."""
        return self._score(prompt)[0]

    @staticmethod
    def _score(prompt: str) -> tuple[float, list[str]]:
        text = prompt.strip()
        low = text.lower()
        words = len(text.split())
        if words <= 6 and _GREETING.search(low):
            return 1.0, ["greeting or acknowledgement"]

        score = 1.0
        cues: list[str] = []
        if words > 400:
            cues.append(f"long prompt ({words} words)")

        code_asks = len(_CODE_ASK.findall(low))
        if _CODE_BLOCK.search(text) or code_asks >= 2:
            score += 3.5 + (1 if code_asks >= 3 else 0)
            cues.append("code")
        elif code_asks:
            score += 1.5
            cues.append("mentions code")
        sql = len(_SQL.findall(low))
        if sql:
            score += 3 + (1.5 if sql >= 3 else 0)
            cues.append("SQL")
        if _MATH.search(low):
            # Small on purpose: on real outcome data math alone barely separates weak from strong
            # models (both fail or both succeed); proofs, steps and reasoning cues carry the weight.
            score += MATH_WEIGHT
            cues.append("math")
        proofs = len(_PROOF.findall(low))
        if proofs:
            score += 6 + min(proofs - 1, 1)
            cues.append("proof or derivation")

        multi = len(_MULTI_STEP.findall(low)) + min(len(_LIST_ITEM.findall(text)), 3)
        if multi:
            score += min(1.5 * multi, MULTI_CAP)
            cues.append("multi-step")
        reasons = len(_REASONING.findall(low))
        if reasons:
            score += min(1.5 * reasons, 4)
            cues.append("reasoning cues")

        questions = text.count("?")
        if questions >= 2:
            score += 1 if questions < 4 else 2
            cues.append(f"{questions} questions")
        if _COMPOSE.search(low) and score < 3.5:
            # Writing and explaining need a capable model even when nothing else flags the prompt.
            score = 3.5
            cues.append("explanation or writing")
        # Continuous terms last, so the strength orders prompts finely (few ties) and a threshold
        # can hit any share of traffic.
        score += LENGTH_WEIGHT * math.log1p(len(text) / LENGTH_SCALE)
        shape = PromptShape.of(text)
        if shape.options:
            score += OVERLAP_WEIGHT * shape.option_overlap + NUMERIC_OPTIONS_WEIGHT * shape.numeric_options
            cues.append(f"{len(shape.options)} answer options")
        return score, cues
