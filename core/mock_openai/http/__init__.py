"""The mock OpenAI Files + Batch API served over HTTP by Django, mounted at /mock-openai/v1/ (see urls): off
unless MOCK_OPENAI_API=true and MOCK_OPENAI_API_KEY are set, on a storage root of its own (see views)."""
