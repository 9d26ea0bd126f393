"""Configuration of CASE (Zhou et al., ACL 2023: "CASE: Aligning Coarse-to-Fine Cognition and Affection for
Empathetic Response Generation").

Sizes follow the paper and its official code (300-d, 1 layer, 2 heads); the loss weights are those of §4.1:
α = 0.2 inside L_align (eq. 13) and γ1..γ4 = 1, 1, 1, 1.5 for L_align, L_emo, L_gen, L_div.
"""

from __future__ import annotations

from .configuration_empathetic_transformer import EmpatheticTransformerConfig


class CaseConfig(EmpatheticTransformerConfig):
    r"""CASE: commonsense cognition graph + emotional concept graph, coarse-to-fine alignment, empathy-aware decoder.

    Ablations (Table 2): ``use_cognition_graph=False`` (w/o CSGraph), ``use_concept_graph=False`` (w/o ECGraph),
    both False (w/o Graph) skip the graph encoders; ``use_alignment=False`` (w/o Align) drops L_align;
    ``use_coarse_alignment=False`` (w/o CGAlign) drops L_coarse; ``use_fine_alignment=False`` (w/o FGAlign)
    drops L_fine.
    """

    model_type = "case"
    bare_model_class = "modeling_case.CaseModel"

    num_dialogue_states: int = 3  # speaker word, listener word, ConceptNet concept (G_EC's vertex types)
    cognition_layers: int = 1  # cognition encoder over each G_CS vertex's words
    graph_layers: int = 1  # (relation-enhanced) graph transformer layers of each graph encoder
    reaction_layers: int = 1  # reaction encoder, and the encoder fusing reactions with S_X
    max_concepts: int = 10  # N′: emotional concepts kept per dialogue (highest ω first; used by the featurizer)
    inferences_per_relation: int = 5  # l: COMET inferences per (u_i, relation) (used by the featurizer)
    use_cognition_graph: bool = True
    use_concept_graph: bool = True
    use_alignment: bool = True
    use_coarse_alignment: bool = True
    use_fine_alignment: bool = True
    fine_alignment_weight: float = 0.2  # α of eq. 13
    alignment_loss_weight: float = 1.0  # γ1
    emotion_loss_weight: float = 1.0  # γ2
    generation_loss_weight: float = 1.0  # γ3
    diversity_loss_weight: float = 1.5  # γ4 (CEM's L_div)

    def _check(self) -> None:
        super()._check()
        if self.num_dialogue_states < 3:
            raise ValueError(f"Invalid CaseConfig: num_dialogue_states must be >= 3 (speaker, listener, concept), got {self.num_dialogue_states}")
        for name in ("cognition_layers", "graph_layers", "reaction_layers", "max_concepts", "inferences_per_relation"):
            if getattr(self, name) < 1:
                raise ValueError(f"Invalid CaseConfig: {name} must be >= 1, got {getattr(self, name)}")
        if not self.use_emotion_classifier:
            raise ValueError("Invalid CaseConfig: CASE predicts the emotion (eqs. 14-17): use_emotion_classifier must be True")


__all__ = ["CaseConfig"]
