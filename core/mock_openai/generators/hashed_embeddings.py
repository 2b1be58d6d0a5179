"""The mock's embedding model: feature hashing of a text's words and word pairs, weighted by how rare each
word is in English (heuristics.text_features, heuristics.word_weights), so texts that share telling
vocabulary get close vectors."""

import numpy as np

from .embeddings import EmbeddingGenerator
from .heuristics.text_features import embed_texts


class HashedEmbeddings(EmbeddingGenerator):
    def vectors(self, texts: list[str], dimensions: int) -> np.ndarray:
        return embed_texts(texts, dimensions)
