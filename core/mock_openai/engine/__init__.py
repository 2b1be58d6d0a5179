"""The mock's engine: OpenAI's Files + Batch API as plain operations on a storage root, no transport.

facade (`MockBatchEngine`) → files, batches (the API's operations) → lifecycle (the state machine) →
validation and execution (slices, answers) → storage (atomic_files). Nothing is imported here, so
`BatchService` can use atomic_files without loading the engine.
"""
