"""Configuration of KEMP (Li et al., AAAI 2022: "Knowledge Bridging for Empathetic Dialogue Generation").

KEMP shares the Transformer baseline's hyper-parameters (300-d, 1 layer, 2 heads, depth 40, filter 50) and
adds the emotional context graph's third vertex state (concept), the loss weights γ1–γ3 of eq. 21 and the
switches of the paper's two ablations.
"""

from __future__ import annotations

from .configuration_common import NEVER_READ, EmpatheticEncoderDecoderConfig


class KempConfig(EmpatheticEncoderDecoderConfig):
    r"""KEMP: emotional context graph encoder + emotion-dependency decoder with copying from graph vertices.

    ``use_emotional_knowledge=False`` is the paper's "w/o ECE" ablation (ConceptNet vertices and the emotion
    intensities are ignored by the encoder); ``use_emotion_dependency=False`` is "w/o EDD" (no e'_p first
    input, no emotional features [g_s; c_e] and no emotional attention loss in the decoder). KEMP always predicts the
    emotion (eqs. 7-10) and its vocabulary projection always has the bias b_v of eq. 17. Sizes, dropouts,
    initialisation and special tokens: :class:`~.configuration_common.EmpatheticConfig`.

    Args:
        num_dialogue_states (`int`, defaults to 3): vertex states E_v (eq. 2): speaker word, listener word, ConceptNet
            concept.
        use_emotional_knowledge (`bool`, defaults to `True`): `False` = "w/o ECE".
        use_emotion_dependency (`bool`, defaults to `True`): `False` = "w/o EDD".
        classifier_dropout (`float`, defaults to 0.0): dropout on the emotion head's input c_e (eq. 8; the official
            code has none).
        label_smoothing (`float`, defaults to 0.0): on the generation NLL of eq. 20, during training only.
        emotion_loss_weight (`float`, defaults to 1.0): γ1 of eq. 21.
        generation_loss_weight (`float`, defaults to 1.0): γ2.
        attention_loss_weight (`float`, defaults to 0.1): γ3.
    """

    model_type = "kemp"
    bare_model_class = "modeling_kemp.KempModel"
    # KEMP always classifies the emotion and always has b_v: these switches never changed it
    removed_fields = (*NEVER_READ, "cls_token_id", "use_emotion_classifier", "output_bias")

    num_dialogue_states: int = 3
    use_emotional_knowledge: bool = True
    use_emotion_dependency: bool = True
    classifier_dropout: float = 0.0
    label_smoothing: float = 0.0
    emotion_loss_weight: float = 1.0
    generation_loss_weight: float = 1.0
    attention_loss_weight: float = 0.1

    def _check(self) -> None:
        super()._check()
        if self.num_dialogue_states < 3:
            raise ValueError(f"Invalid KempConfig: num_dialogue_states must be >= 3 (speaker, listener, concept), got {self.num_dialogue_states}")


__all__ = ["KempConfig"]
