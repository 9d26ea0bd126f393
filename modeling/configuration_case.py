"""Configuration of CASE (Zhou et al., ACL 2023: "CASE: Aligning Coarse-to-Fine Cognition and Affection for
Empathetic Response Generation").

Sizes follow the paper and its official code (300-d, 1 layer, 2 heads); the loss weights are those of §4.1:
α = 0.2 inside L_align (eq. 13) and γ1..γ4 = 1, 1, 1, 1.5 for L_align, L_emo, L_gen, L_div.
"""

from __future__ import annotations

from dataclasses import dataclass

from .configuration_common import NEVER_READ, EmpatheticEncoderDecoderConfig


@dataclass(kw_only=True, repr=False, eq=False)
class CaseFields:
    r"""What CASE and CASE-BlenderBot share: CASE's own encoders, the featurizer's N′ and l, the ablations and the
    loss weights. CASE always predicts the emotion (eqs. 14-17), from r_aff without dropout.

    Ablations (Table 2): ``use_cognition_graph=False`` (w/o CSGraph), ``use_concept_graph=False`` (w/o ECGraph),
    both False (w/o Graph) skip the graph encoders; ``use_alignment=False`` (w/o Align) drops L_align;
    ``use_coarse_alignment=False`` (w/o CGAlign) drops L_coarse; ``use_fine_alignment=False`` (w/o FGAlign)
    drops L_fine.

    Args:
        cognition_layers (`int`, defaults to 1): the cognition encoder over each G_CS vertex's words.
        graph_layers (`int`, defaults to 1): (relation-enhanced) graph transformer layers of each graph encoder.
        reaction_layers (`int`, defaults to 1): the reaction encoder, and the encoder fusing reactions with S_X.
        max_concepts (`int`, defaults to 10): N′, the emotional concepts kept per dialogue (highest ω first; read by
            the featurizer).
        inferences_per_relation (`int`, defaults to 5): l, the COMET inferences per (u_i, relation) (read by the
            featurizer).
        use_cognition_graph (`bool`, defaults to `True`): `False` = "w/o CSGraph".
        use_concept_graph (`bool`, defaults to `True`): `False` = "w/o ECGraph".
        use_alignment (`bool`, defaults to `True`): `False` = "w/o Align".
        use_coarse_alignment (`bool`, defaults to `True`): `False` = "w/o CGAlign".
        use_fine_alignment (`bool`, defaults to `True`): `False` = "w/o FGAlign".
        fine_alignment_weight (`float`, defaults to 0.2): α of eq. 13.
        alignment_loss_weight (`float`, defaults to 1.0): γ1.
        emotion_loss_weight (`float`, defaults to 1.0): γ2.
        generation_loss_weight (`float`, defaults to 1.0): γ3.
        diversity_loss_weight (`float`, defaults to 1.5): γ4 (CEM's L_div).
        label_smoothing (`float`, defaults to 0.0): on L_gen (eq. 19), during training only.
        cls_token_id (`int`, defaults to 4): the [CLS] that heads the response in the posteriors of eqs. 5-6.
    """

    cognition_layers: int = 1
    graph_layers: int = 1
    reaction_layers: int = 1
    max_concepts: int = 10
    inferences_per_relation: int = 5
    use_cognition_graph: bool = True
    use_concept_graph: bool = True
    use_alignment: bool = True
    use_coarse_alignment: bool = True
    use_fine_alignment: bool = True
    fine_alignment_weight: float = 0.2
    alignment_loss_weight: float = 1.0
    emotion_loss_weight: float = 1.0
    generation_loss_weight: float = 1.0
    diversity_loss_weight: float = 1.5
    label_smoothing: float = 0.0
    cls_token_id: int | None = 4

    def positive_fields(self) -> tuple[str, ...]:
        return (*super().positive_fields(), "cognition_layers", "graph_layers", "reaction_layers", "max_concepts", "inferences_per_relation")

    def token_fields(self) -> tuple[str, ...]:
        return (*super().token_fields(), "cls_token_id")


class CaseConfig(CaseFields, EmpatheticEncoderDecoderConfig):
    r"""CASE: commonsense cognition graph + emotional concept graph, coarse-to-fine alignment, empathy-aware decoder
    (:class:`CaseFields`). Sizes, dropouts, initialisation and special tokens:
    :class:`~.configuration_common.EmpatheticConfig`; ``encoder_layers`` is the context encoder's depth.

    Args:
        num_dialogue_states (`int`, defaults to 3): speaker word, listener word, ConceptNet concept (G_EC's vertex types).
        output_bias (`bool`, defaults to `False`): a bias on the vocabulary projection.
    """

    model_type = "case"
    bare_model_class = "modeling_case.CaseModel"
    # CASE always predicts the emotion, from r_aff without dropout
    removed_fields = (*NEVER_READ, "use_emotion_classifier", "classifier_dropout")

    num_dialogue_states: int = 3
    output_bias: bool = False

    def _check(self) -> None:
        super()._check()
        if self.num_dialogue_states < 3:
            raise ValueError(f"Invalid CaseConfig: num_dialogue_states must be >= 3 (speaker, listener, concept), got {self.num_dialogue_states}")


__all__ = ["CaseConfig", "CaseFields"]
