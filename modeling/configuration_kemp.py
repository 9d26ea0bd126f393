"""Configuration of KEMP (Li et al., AAAI 2022: "Knowledge Bridging for Empathetic Dialogue Generation").

KEMP shares the Transformer baseline's hyper-parameters (300-d, 1 layer, 2 heads, depth 40, filter 50) and
adds the emotional context graph's third vertex state (concept), the loss weights γ1–γ3 of eq. 21 and the
switches of the paper's two ablations.
"""

from __future__ import annotations

from .configuration_empathetic_transformer import EmpatheticTransformerConfig


class KempConfig(EmpatheticTransformerConfig):
    r"""KEMP: emotional context graph encoder + emotion-dependency decoder with copying from graph vertices.

    ``use_emotional_knowledge=False`` is the paper's "w/o ECE" ablation (ConceptNet vertices and the emotion
    intensities are ignored by the encoder); ``use_emotion_dependency=False`` is "w/o EDD" (no e'_p first
    input, no emotional features [g_s; c_e] and no emotional attention loss in the decoder).
    """

    model_type = "kemp"
    bare_model_class = "modeling_kemp.KempModel"

    num_dialogue_states: int = 3  # vertex states E_v (eq. 2): speaker word, listener word, ConceptNet concept
    use_emotional_knowledge: bool = True  # False = "w/o ECE"
    use_emotion_dependency: bool = True  # False = "w/o EDD"
    emotion_loss_weight: float = 1.0  # γ1 of eq. 21
    generation_loss_weight: float = 1.0  # γ2
    attention_loss_weight: float = 0.1  # γ3

    def _check(self) -> None:
        super()._check()
        if self.num_dialogue_states < 3:
            raise ValueError(f"Invalid KempConfig: num_dialogue_states must be >= 3 (speaker, listener, concept), got {self.num_dialogue_states}")
        if not self.use_emotion_classifier:
            raise ValueError("Invalid KempConfig: KEMP's emotion perception (eqs. 7-10) needs use_emotion_classifier=True")


__all__ = ["KempConfig"]
