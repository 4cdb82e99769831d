"""Prices per million tokens from the bundled table, and the batch price: what a typical request costs, not a
long-context tier, and half of it through OpenAI's or Anthropic's hosted batch API."""

from __future__ import annotations

import pytest

from distill.engine.prices import batch_factor, batch_price, price_info
from distill.providers.registry import provider_spec


def test_a_price_is_the_price_of_an_ordinary_request_not_the_long_context_tier():
    # Sonnet 4.5 bills prompts over 200k tokens at $6/M; a request of ordinary length at $3/M
    info = price_info(provider_spec("anthropic:claude-sonnet-4-5"))
    assert info.price is not None and (info.price.prompt_per_mtok, info.price.completion_per_mtok) == (3.0, 15.0)
    mini = price_info(provider_spec("openai:gpt-4o-mini")).price
    assert mini is not None and (mini.prompt_per_mtok, mini.completion_per_mtok) == (0.15, 0.6)


@pytest.mark.parametrize(("spec", "factor"), [
    ({"provider": "openai", "model": "gpt-4o-mini", "batch": True}, 0.5),
    ({"provider": "anthropic", "model": "claude-haiku-4-5", "batch": True}, 0.5),
    ({"provider": "openai", "model": "m", "base_url": "http://127.0.0.1:8000/v1", "batch": True}, 1.0),  # vLLM
    ({"provider": "openai", "model": "m", "base_url": "http://127.0.0.1:8000/v1",
      "batch": {"price_factor": 0.4}}, 0.4),
])
def test_the_batch_price_is_half_on_the_hosted_apis_and_as_configured_elsewhere(spec, factor):
    s = provider_spec({**spec, "price": {"prompt_per_mtok": 2.0, "completion_per_mtok": 8.0}})
    assert batch_factor(s) == factor
    price = batch_price(s)
    assert price is not None and (price.prompt_per_mtok, price.completion_per_mtok) == (2.0 * factor, 8.0 * factor)
