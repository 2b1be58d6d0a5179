"""What the mock answers valid batch requests: generators behind one interface (base) and one registry.

A generator answers the requests of one endpoint that it claims. `EmbeddingGenerator` and
`ChatGenerator` give the OpenAI response shapes, so a model only supplies vectors or a reply; the
stand-in models themselves (heuristics/) know nothing of OpenAI. A new generator (a semantic embedder,
a replayed recording) is one module implementing `Generator` and one entry in registry.GENERATORS.
"""
