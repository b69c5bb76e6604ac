"""Per-token prices and cost estimates, all read from LiteLLM's pricing table.

Prices are resolved once per deployment when the tier map is built, so the per-request path only
multiplies; a model with no price anywhere fails then, naming the nearest keys in the table.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from litellm_router_plugin._litellm import litellm
from litellm_router_plugin.errors import ConfigError, UnknownModelError, checked_amount

logger = logging.getLogger(__name__)

PriceSource = Literal["litellm.model_cost", "deployment", "custom_prices"]


@dataclass(frozen=True, slots=True)
class Price:
    """USD per token for one model, and where the figure came from."""

    input_per_token: float
    output_per_token: float
    source: PriceSource

    def estimate(self, prompt_tokens: int, completion_tokens: int) -> float:
        """Cost in USD of a call with these token counts."""
        return prompt_tokens * self.input_per_token + completion_tokens * self.output_per_token


def nearest_models(model: str, n: int = 3) -> list[str]:
    """The keys of ``litellm.model_cost`` that look most like ``model``."""
    keys = list(litellm.model_cost)
    found = difflib.get_close_matches(model, keys, n=n, cutoff=0.5)
    if not found:
        # A provider prefix the table does not use ("myproxy/gpt-4o") hides close names.
        tail = model.rsplit("/", 1)[-1]
        found = difflib.get_close_matches(tail, keys, n=n, cutoff=0.5)
    return found


def _checked(field: str, value: object) -> float:
    return checked_amount(field, value, "USD per token", "1.5e-07")


def _both(field: str, entry: Mapping[str, Any]) -> tuple[float, float]:
    """Both prices of an explicit entry: one alone would silently price the other side at $0."""
    for name, other in (
        ("input_cost_per_token", "output_cost_per_token"),
        ("output_cost_per_token", "input_cost_per_token"),
    ):
        if name in entry and other not in entry:
            raise ConfigError(
                f"{field}.{other}",
                None,
                f"{name} is given without {other}; give both (0 for a free side) or neither.",
            )
    return _checked(f"{field}.input_cost_per_token", entry.get("input_cost_per_token")), _checked(
        f"{field}.output_cost_per_token", entry.get("output_cost_per_token")
    )


_WARNED_FREE: set[str] = set()


def _warn_free(model: str) -> None:
    """Once per model and process: a $0 table price means no budget ever binds on that model."""
    if model not in _WARNED_FREE:
        _WARNED_FREE.add(model)
        logger.warning("LiteLLM's price table prices %s at $0 per token: its spend reads $0.", model)


def _free_from_table(field: str, model: str) -> ConfigError:
    """A deployment the table prices at $0: no budget would ever bind on it, so the operator says so."""
    params = field.removesuffix(".model") + ".litellm_params"
    return ConfigError(
        field,
        model,
        "LiteLLM's price table prices this model at $0 per token, so no budget would ever bind on it. "
        f"If it is free, set {params}.input_cost_per_token: 0 and output_cost_per_token: 0; "
        "otherwise give its real prices there (USD per token).",
    )


def price_for(
    model: str,
    litellm_params: Mapping[str, Any] | None = None,
    custom_prices: Mapping[str, Mapping[str, Any]] | None = None,
    field: str = "model",
    *,
    free_ok: bool = False,
) -> Price:
    """Resolve the price of ``model``: deployment-level price, then ``custom_prices``, then LiteLLM.

    Raises ``UnknownModelError`` (a ``ConfigError``) naming the nearest pricing keys when none has it,
    and a ``ConfigError`` when only LiteLLM's table prices it, at $0 (``free_ok``: a warning instead,
    for prices that no budget relies on, such as the classifier agent's).
    """
    params = litellm_params or {}
    if "input_cost_per_token" in params or "output_cost_per_token" in params:
        # An explicit price, $0 included, is the operator's word: no warning.
        return Price(*_both(field.removesuffix(".model") + ".litellm_params", params), "deployment")
    if custom_prices and model in custom_prices:
        return Price(*_both(f"custom_prices.{model}", custom_prices[model]), "custom_prices")
    info = litellm.model_cost.get(model)
    if info is None:
        try:
            # Resolves provider prefixes the table spells differently ("openai/gpt-4o" -> "gpt-4o").
            info = litellm.get_model_info(model=model)
        except Exception as exc:  # litellm raises several unrelated types for "not mapped"
            raise UnknownModelError(field, model, nearest_models(model)) from exc
        if info.get("key") not in litellm.model_cost:
            # get_model_info answers some unknown names with an all-zero guess: refuse a made-up $0.
            raise UnknownModelError(field, model, nearest_models(model))
    in_price, out_price = info.get("input_cost_per_token"), info.get("output_cost_per_token")
    if in_price is None or out_price is None:
        raise UnknownModelError(field, model, nearest_models(model))
    if float(in_price) == 0 and float(out_price) == 0:
        if not free_ok:
            raise _free_from_table(field, model)
        _warn_free(model)
    return Price(float(in_price), float(out_price), "litellm.model_cost")


def register_custom_prices(custom_prices: Mapping[str, Mapping[str, Any]]) -> None:
    """Teach LiteLLM our custom prices, so its own ``response_cost`` agrees with our estimates."""
    if not custom_prices:
        return
    litellm.register_model(
        {
            model: {"litellm_provider": model.split("/", 1)[0] if "/" in model else "openai", "mode": "chat"}
            | dict(entry)
            for model, entry in custom_prices.items()
        }
    )


def cost(model: str, prompt_tokens: int, completion_tokens: int) -> float:
    """Actual cost in USD of a call, priced by ``litellm.cost_per_token``."""
    prompt_usd, completion_usd = litellm.cost_per_token(
        model=model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
    )
    return float(prompt_usd + completion_usd)


def response_cost(response: Any, model: str, deployment_price: Price | None = None) -> float | None:
    """LiteLLM's own ``response_cost`` of a call's response (cached prompt tokens, tiered and other
    special prices included), as its spend logs record it; ``None`` when LiteLLM cannot price it.

    The figure LiteLLM already attached to the response is used as is; otherwise it is computed by
    ``litellm.completion_cost``, with ``deployment_price`` (a price set on the deployment) as its
    custom price per token, as LiteLLM's logging does for such a deployment."""
    hidden = getattr(response, "_hidden_params", None)
    if isinstance(hidden, Mapping) and isinstance(hidden.get("response_cost"), int | float):
        return float(hidden["response_cost"])
    custom = None
    if deployment_price is not None and deployment_price.source == "deployment":
        custom = {
            "input_cost_per_token": deployment_price.input_per_token,
            "output_cost_per_token": deployment_price.output_per_token,
        }
    try:
        value = litellm.completion_cost(completion_response=response, model=model, custom_cost_per_token=custom)
    except Exception:  # litellm raises several unrelated types for "cannot price this"
        logger.debug("LiteLLM could not price a response of %s; usage x price instead", model, exc_info=True)
        return None
    return float(value) if isinstance(value, int | float) and math.isfinite(value) and value >= 0 else None


def count_prompt_tokens(messages: Sequence[Mapping[str, Any]], model: str, tools: Any = None) -> int:
    """Prompt tokens by LiteLLM's tokenizer for ``model`` (``litellm.token_counter``), tool definitions
    included; an image counts LiteLLM's default image tokens (never fetched to measure it).

    Messages that are plain dicts (what the proxy and the Router pass) are counted by LiteLLM's own
    counting functions with the tokenizer and per-message constants prepared once per model: the
    same count as ``litellm.token_counter``, without re-selecting the tokenizer on every call (which
    cost several times the tokenizing itself). Anything else goes through ``litellm.token_counter``.
    """
    counter = _message_counter(model)
    if counter is not None and not litellm.disable_token_counter and all(type(m) is dict for m in messages):
        return counter(messages, tools or None)
    return int(
        litellm.token_counter(
            model=model, messages=list(messages), tools=tools or None, use_default_image_token_count=True
        )
    )


@functools.lru_cache(maxsize=32)
def _message_counter(model: str) -> Callable[[Sequence[Mapping[str, Any]], Any], int] | None:
    """``litellm.token_counter(model=model, messages=..., tools=..., use_default_image_token_count=True)``
    for dict messages, with what depends only on ``model`` (tokenizer, per-message tokens) built once;
    ``None`` when this LiteLLM lacks the pieces (then every count goes through ``token_counter``)."""
    try:
        from litellm.litellm_core_utils import token_counter as counting

        params = counting._MessageCountParams(model, None)
        count_messages, count_extra = counting._count_messages, counting._count_extra
        if list(inspect.signature(count_extra).parameters) != _COUNT_EXTRA_PARAMS:
            return None  # another LiteLLM's counting (1.110 adds tool sections): its public function
    except Exception:  # another LiteLLM version, or a tokenizer that cannot load: the public function
        logger.debug("token counting falls back to litellm.token_counter", exc_info=True)
        return None
    params.count_function = _short_text_memo(params.count_function)

    def count(messages: Sequence[Mapping[str, Any]], tools: Any) -> int:
        tokens = count_messages(params, messages, True, None)
        system = any(m.get("role") == "system" for m in messages)
        return int(tokens + count_extra(params.count_function, tools, None, system))

    return count


_COUNT_EXTRA_PARAMS = ["count_function", "tools", "tool_choice", "includes_system_message"]

_SHORT_TEXT = 32
"""Texts up to this many characters have their token count remembered (see ``_short_text_memo``)."""
_SHORT_TEXTS_KEPT = 4096


def _short_text_memo(count: Callable[[str], int]) -> Callable[[str], int]:
    """``count`` remembering the counts of short texts: every message's role ("user", "system") is
    counted like its content, and tiktoken releases the GIL for every text it encodes, so in a proxy
    whose other threads are busy each count waits for the GIL to come back (hundreds of us per
    request in the proxy profile, for a 4-character role). Counting is a pure function of the text."""
    short = functools.lru_cache(maxsize=_SHORT_TEXTS_KEPT)(count)

    def counted(text: str) -> int:
        return count(text) if len(text) > _SHORT_TEXT else short(text)

    return counted
