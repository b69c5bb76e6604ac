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


@dataclass(frozen=True, slots=True)
class PromptShape:
    """A prompt split into its question stem and answer options (none if it is not multiple choice)."""

    text: str
    stem: str
    options: tuple[str, ...]

    @classmethod
    def of(cls, prompt: str) -> PromptShape:
        """Parse ``prompt`` (stripped); two or more lettered lines make it multiple choice."""
        text = prompt.strip()
        matches = list(_OPTION.finditer(text))
        if len(matches) < 2:
            return cls(text, text, ())
        return cls(text, text[: matches[0].start()].strip(), tuple(m.group(1) for m in matches))

    @property
    def option_overlap(self) -> float:
        """0-1: how much the options repeat each other's words ("Wrong, Not wrong", "True, False").

        Options that differ by a word or two ask the model to judge several statements or to draw a
        fine distinction; on the outcome data that is where the strong model gains most.
        """
        words = [set(_WORD.findall(o.lower())) for o in self.options]
        total = sum(map(len, words))
        if len(words) < 2 or not total:
            return 0.0
        return 1.0 - len(set().union(*words)) / total

    @property
    def numeric_options(self) -> float:
        """0-1: the share of options that are numbers: a computation both models tend to get right or wrong alike."""
        if not self.options:
            return 0.0
        return sum(bool(_NUMERIC.match(o)) for o in self.options) / len(self.options)

    @property
    def first_person(self) -> float:
        """1 if a multiple-choice stem speaks as "I/my/me": a scenario to judge rather than a fact to recall.

        Only for multiple-choice prompts, the only kind the outcome data shows: in chat "I" and "me"
        are everywhere and say nothing about difficulty.
        """
        return 1.0 if self.options and _FIRST_PERSON.search(self.stem) else 0.0

    @property
    def catch_all_option(self) -> float:
        """1 if an option is "all/none/both of the above" or "neither": every option must be checked."""
        return 1.0 if any(_CATCH_ALL.search(o) for o in self.options) else 0.0
