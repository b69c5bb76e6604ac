"""What the shape of a prompt says about its difficulty: the cues both local classifiers read.

Pure Python and a few precompiled patterns. The cues describe a multiple-choice question's
structure rather than its topic, because topic words did not carry over to unseen subjects on the
MMLU outcome data while these did (chosen on subject-grouped folds; see README "Routing quality").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Answer options of a multiple-choice question: "A. ...", "(b) ...".
_OPTION = re.compile(r"^[ \t]*\(?[A-Ha-h][.)][ \t]+(\S.*)$", re.M)
_WORD = re.compile(r"[a-z]+")
"""Runs on lower-cased options."""
_NUMERIC = re.compile(r"^[\s$€£-]*[\d.,/]+\s*[%a-zA-Z]{0,4}\s*$")
_FIRST_PERSON = re.compile(r"\b(I|my|me)\b")
_CATCH_ALL = re.compile(r"(all|none|both) of the (above|following)|neither", re.I)


def _overlap(options: tuple[str, ...]) -> float:
    words = [set(_WORD.findall(o.lower())) for o in options]
    total = sum(map(len, words))
    return 1.0 - len(set().union(*words)) / total if total else 0.0


@dataclass(frozen=True, slots=True)
class PromptShape:
    """A prompt split into its question stem and answer options, and the cues read from them.

    Every cue is 0 for a prompt that is not multiple choice: the outcome data shows only multiple
    choice, and in chat, say, "I" and "me" are everywhere and say nothing about difficulty.
    """

    text: str
    stem: str
    options: tuple[str, ...]
    option_overlap: float = 0.0
    """0-1: how much the options repeat each other's words ("Wrong, Not wrong", "True, False").
    Options that differ by a word or two ask the model to judge several statements or to draw a fine
    distinction; on the outcome data that is where the strong model gains most."""
    numeric_options: float = 0.0
    """0-1: the share of options that are numbers: a computation both models tend to get right or wrong alike."""
    first_person: float = 0.0
    """1 if the stem speaks as "I/my/me": a scenario to judge rather than a fact to recall."""
    catch_all_option: float = 0.0
    """1 if an option is "all/none/both of the above" or "neither": every option must be checked."""

    @classmethod
    def of(cls, prompt: str) -> PromptShape:
        """Parse ``prompt`` (stripped); two or more lettered lines make it multiple choice."""
        text = prompt.strip()
        matches = list(_OPTION.finditer(text))
        if len(matches) < 2:
            return cls(text, text, ())
        stem = text[: matches[0].start()].strip()
        options = tuple(m.group(1) for m in matches)
        return cls(
            text,
            stem,
            options,
            _overlap(options),
            sum(bool(_NUMERIC.match(o)) for o in options) / len(options),
            1.0 if _FIRST_PERSON.search(stem) else 0.0,
            1.0 if any(_CATCH_ALL.search(o) for o in options) else 0.0,
        )

    @property
    def cues(self) -> tuple[float, float, float, float]:
        """The four cues, in the learned classifier's feature order."""
        return (self.option_overlap, self.numeric_options, self.first_person, self.catch_all_option)
