"""The mock OpenAI Files + Batch API served over HTTP by Django (see views)."""
