"""The mock OpenAI Files + Batch API: free, deterministic runs of the pipeline without OpenAI.

- client: `MockOpenAIClient`, the SDK-shaped face (`openai.OpenAI()`'s `files` and `batches`).
- http/: the same API over HTTP, for the real SDK pointed at `/mock-openai/v1/`.
- config: the engine the MOCK_BATCH_* settings describe.
- engine/: the API itself, transport-free: operations, state machine, validation, execution, storage.
- generators/: what it answers valid requests (embeddings, CV parsing, explanations).

Nothing is imported here, so a part of the mock costs only what it uses.
"""
