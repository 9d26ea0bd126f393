"""Knowledge resources for the knowledge-aware models (KEMP, CASE): the NRC-VAD lexicon with KEMP's emotion
intensity, and a ConceptNet concept index. Each loader reads a user-supplied file and fails with a message
naming what is missing; nothing here downloads or ships the resources themselves (their licences differ)."""

from .conceptnet import KEMP_REMOVED_RELATIONS, ConceptIndex, Edge
from .retrieval import KNOWLEDGE_FILE, STOPWORDS, ConceptRetriever, RetrievalConfig, annotate_concepts
from .vad import VADLexicon

__all__ = [
    "ConceptIndex", "ConceptRetriever", "Edge", "KEMP_REMOVED_RELATIONS", "KNOWLEDGE_FILE", "RetrievalConfig", "STOPWORDS",
    "VADLexicon", "annotate_concepts",
]  # fmt: skip
