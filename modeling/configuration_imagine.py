"""Configuration of IMAGINE (imagine.txt): emotion causes, communication mechanisms and commonsense
"experience projection" for empathetic response generation.

Appendix B: d = 300, every encoder 1 layer with 2 heads. Loss (eq. 23): λ1..λ4 = 1, 1, 1, 1.5 on L_gen, L_emo,
L_cm and the FACE diversity loss L_div.
"""

from __future__ import annotations

from typing import Literal

from .configuration_common import NEVER_READ, EmpatheticEncoderDecoderConfig


class ImagineConfig(EmpatheticEncoderDecoderConfig):
    r"""IMAGINE. Ablations (Table 2): ``use_causes=False`` (w/o cause: C = S), ``use_mechanisms=False`` (w/o cm:
    no CM heads, no ê_cm), ``use_knowledge=False`` (w/o know: the refined representations are the cause
    encoder's), ``diversity_loss_weight=0`` (w/o div). IMAGINE always perceives the emotion (eqs. 1-3), without
    dropout on its head, and L_gen is not label-smoothed (eq. 19). Sizes, dropouts, initialisation and special
    tokens: :class:`~.configuration_common.EmpatheticConfig`; ``encoder_layers`` is the depth of each of its encoders.

    Args:
        num_dialogue_states (`int`, defaults to 2): speaker and listener embeddings E_S (eq. 4).
        num_mechanisms (`int`, defaults to 3): communication mechanisms ER, IP, EX (binary each).
        use_causes (`bool`, defaults to `True`): `False` = "w/o cause" (C = S).
        use_mechanisms (`bool`, defaults to `True`): `False` = "w/o cm"; also read by the featurizer (the CM
            classifiers it needs).
        use_knowledge (`bool`, defaults to `True`): `False` = "w/o know".
        face_counts (`str`, defaults to ``"predictions"``): what FACE counts, the model's ``"predictions"`` (FACE,
            CEM) or the training ``"targets"`` (the paper's wording, "training corpus").
        generation_loss_weight (`float`, defaults to 1.0): λ1 of eq. 23.
        emotion_loss_weight (`float`, defaults to 1.0): λ2.
        mechanism_loss_weight (`float`, defaults to 1.0): λ3.
        diversity_loss_weight (`float`, defaults to 1.5): λ4 (0 = "w/o div").
        output_bias (`bool`, defaults to `False`): a bias on the vocabulary projection.
    """

    model_type = "imagine"
    bare_model_class = "modeling_imagine.ImagineModel"
    # IMAGINE always perceives the emotion, without dropout on its head, and does not smooth L_gen
    removed_fields = (*NEVER_READ, "cls_token_id", "use_emotion_classifier", "classifier_dropout", "label_smoothing")

    num_dialogue_states: int = 2
    num_mechanisms: int = 3
    use_causes: bool = True
    use_mechanisms: bool = True
    use_knowledge: bool = True
    face_counts: Literal["predictions", "targets"] = "predictions"
    generation_loss_weight: float = 1.0
    emotion_loss_weight: float = 1.0
    mechanism_loss_weight: float = 1.0
    diversity_loss_weight: float = 1.5
    output_bias: bool = False

    def _check(self) -> None:
        super()._check()
        if self.face_counts not in ("predictions", "targets"):
            raise ValueError(f"Invalid ImagineConfig: face_counts must be 'predictions' or 'targets', got {self.face_counts!r}")


__all__ = ["ImagineConfig"]
