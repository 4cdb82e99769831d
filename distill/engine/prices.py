"""What a model's tokens cost and how long its context is, without homework.

`price:` in the YAML always wins. Otherwise in-process models (a provider class declaring `in_process`: the
embedded teacher, transformers) cost nothing, hosted APIs (a class's `hosted`) are looked up in `genai-prices`
(pydantic's maintained price table, bundled snapshot: no network), and anything else — a self-hosted server, a
model the table does not know — is *unknown*, recorded as `null`, never as a made-up 0.0.
"""

from __future__ import annotations

from dataclasses import dataclass

from distill.providers.hosted import Hosted
from distill.providers.registry import provider_class
from distill.providers.spec import Price, ProviderSpec

SAMPLE = 10_000  # tokens of the request a price per million is worked out from


@dataclass(frozen=True)
class PriceInfo:
    price: Price | None  # None: unknown
    source: str          # "config" | "in-process" | "genai-prices" | "unknown"
    context_tokens: int | None = None


def price_info(spec: ProviderSpec) -> PriceInfo:
    if spec.price is not None:
        return PriceInfo(spec.price, "config", spec.context_tokens)
    cls = provider_class(spec.provider)
    if cls is not None and cls.in_process:
        return PriceInfo(Price(), "in-process", spec.context_tokens)
    hosted = _hosted(spec)
    if hosted is None or not spec.model:
        return PriceInfo(None, "unknown", spec.context_tokens)  # a self-hosted or third-party server, or no model
    looked = _lookup(hosted.price_table, spec.model)
    if looked is None:
        return PriceInfo(None, "unknown", spec.context_tokens)
    price, context = looked
    return PriceInfo(price, "genai-prices", spec.context_tokens or context)


def _hosted(spec: ProviderSpec) -> Hosted | None:
    """The hosted API the spec talks to (its provider's, when its `base_url` is none or that API's own)."""
    hosted = getattr(provider_class(spec.provider), "hosted", None)
    return hosted if isinstance(hosted, Hosted) and hosted.serves(spec.base_url) else None


def _lookup(provider_id: str, model: str) -> tuple[Price, int | None] | None:
    try:
        from genai_prices import Usage, calc_price
    except ImportError:  # the table is a dependency, but a trimmed install should still run
        return None
    try:
        # priced at the size of an ordinary request and scaled: a million-token request would be billed at a
        # long-context tier (Sonnet 4.5: $6/M past 200k prompt tokens instead of $3/M)
        per_input = calc_price(Usage(input_tokens=SAMPLE), model_ref=model, provider_id=provider_id)
        per_output = calc_price(Usage(output_tokens=SAMPLE), model_ref=model, provider_id=provider_id)
    except (LookupError, ValueError):
        return None
    scale = 1_000_000 // SAMPLE
    price = Price(prompt_per_mtok=float(per_input.total_price * scale),
                  completion_per_mtok=float(per_output.total_price * scale))
    return price, getattr(per_input.model, "context_window", None)


def with_price(spec: ProviderSpec) -> ProviderSpec:
    """The spec with its resolved price (and context window) filled in, for the engine's accounting."""
    info = price_info(spec)
    if info.price is spec.price and info.context_tokens == spec.context_tokens:
        return spec
    return spec.model_copy(update={"price": info.price, "context_tokens": info.context_tokens})


def cost(price: Price | None, prompt_tokens: float, completion_tokens: float) -> float | None:
    if price is None:
        return None
    return (prompt_tokens * price.prompt_per_mtok + completion_tokens * price.completion_per_mtok) / 1e6


def batch_factor(spec: ProviderSpec) -> float:
    """What the spec's batch API bills relative to its immediate price: `batch: {price_factor: ...}` when set,
    else the discount its provider class declares for its own hosted API (`Hosted.batch_factor`: 0.5), else 1 (a
    self-hosted or third-party server)."""
    given = getattr(spec.batch, "price_factor", None)
    if given is not None:
        return float(given)
    hosted = _hosted(spec)
    return 1.0 if hosted is None else hosted.batch_factor


def batch_price(spec: ProviderSpec) -> Price | None:
    """What a token costs through the spec's batch API (None when the immediate price is unknown)."""
    if spec.price is None:
        return None
    factor = batch_factor(spec)
    return Price(prompt_per_mtok=spec.price.prompt_per_mtok * factor,
                 completion_per_mtok=spec.price.completion_per_mtok * factor)
