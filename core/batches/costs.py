"""What a batch costs at OpenAI's Batch API prices, and what the same tokens would cost synchronously."""

from decimal import Decimal

from django.conf import settings

MILLION = Decimal(1_000_000)


def synchronous_cost(model: str, input_tokens: int, output_tokens: int) -> Decimal:
    """Price of the tokens through the synchronous API; models missing from the table cost 0 here."""
    prices = settings.OPENAI_PRICES_PER_MILLION_TOKENS.get(model)
    if prices is None:
        return Decimal(0)
    return (Decimal(str(prices["input"])) * input_tokens + Decimal(str(prices["output"])) * output_tokens) / MILLION


def batch_cost(model: str, input_tokens: int, output_tokens: int) -> Decimal:
    discount = Decimal(str(settings.BATCH_PRICE_DISCOUNT))
    return (synchronous_cost(model, input_tokens, output_tokens) * discount).quantize(Decimal("0.000001"))
