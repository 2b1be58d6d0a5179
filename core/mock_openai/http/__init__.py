"""The mock OpenAI Files + Batch API served over HTTP by Django, mounted at /mock-openai/v1/ (see urls)."""
