"""The four complexity categories, shared by the config (``routing.category_tiers``) and the classifiers.

A leaf module: the config names categories without importing the classifiers' package.
"""

from __future__ import annotations

from typing import Literal

Category = Literal["simple", "moderate", "complex", "reasoning"]
CATEGORIES: tuple[Category, ...] = ("simple", "moderate", "complex", "reasoning")
