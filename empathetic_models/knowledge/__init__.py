"""Knowledge resources for the knowledge-aware models: the NRC-VAD lexicon with KEMP's emotion intensity, a
ConceptNet concept index and KEMP's retrieval, commonsense (COMET / ATOMIC retrieval / ConceptNet) for CASE,
IMAGINE and NEC, and emotion causes (:mod:`.causes`). Each loader reads a user-supplied file or checkpoint and
fails with a message naming what is missing; nothing here ships the resources themselves (their licences differ)."""

from .commonsense import (
    COMET,
    ENTITY_RELATIONS,
    IMAGINE_RELATIONS,
    SOCIAL_RELATIONS,
    AtomicRetriever,
    CommonsenseKnowledge,
    CommonsenseSource,
    ConceptNetCommonsense,
    load_atomic,
    offline_commonsense,
)
from .commonsense_annotation import annotate_commonsense, commonsense_sources
from .conceptnet import KEMP_REMOVED_RELATIONS, ConceptIndex, Edge
from .entity_scorer import EntityKnowledgeScorer, scorer_pairs
from .mechanisms import MECHANISMS, MechanismClassifier, annotate_mechanisms, load_epitome
from .sentence_encoder import SentenceEncoder
from .retrieval import KNOWLEDGE_FILE, STOPWORDS, ConceptRetriever, RetrievalConfig, annotate_concepts
from .vad import VADLexicon

__all__ = [
    "COMET", "ENTITY_RELATIONS", "IMAGINE_RELATIONS", "SOCIAL_RELATIONS", "AtomicRetriever", "CommonsenseKnowledge",
    "CommonsenseSource", "ConceptNetCommonsense", "SentenceEncoder", "annotate_commonsense", "commonsense_sources",
    "load_atomic", "offline_commonsense", "MECHANISMS", "MechanismClassifier", "annotate_mechanisms", "load_epitome",
    "ConceptIndex", "ConceptRetriever", "Edge", "KEMP_REMOVED_RELATIONS", "KNOWLEDGE_FILE", "RetrievalConfig", "STOPWORDS",
    "VADLexicon", "annotate_concepts", "EntityKnowledgeScorer", "scorer_pairs",
]  # fmt: skip
