"""Configuration of IMAGINE (imagine.txt): emotion causes, communication mechanisms and commonsense
"experience projection" for empathetic response generation.

Appendix B: d = 300, every encoder 1 layer with 2 heads. Loss (eq. 23): λ1..λ4 = 1, 1, 1, 1.5 on L_gen, L_emo,
L_cm and the FACE diversity loss L_div.
"""

from __future__ import annotations

from typing import Literal

from .configuration_empathetic_transformer import EmpatheticTransformerConfig


class ImagineConfig(EmpatheticTransformerConfig):
    r"""IMAGINE. Ablations (Table 2): ``use_causes=False`` (w/o cause: C = S), ``use_mechanisms=False`` (w/o cm:
    no CM heads, no ê_cm), ``use_knowledge=False`` (w/o know: the refined representations are the cause
    encoder's), ``diversity_loss_weight=0`` (w/o div). ``face_counts`` says what FACE counts: the model's
    ``predictions`` (FACE, CEM) or the training ``targets`` (the paper's wording, "training corpus").
    """

    model_type = "imagine"
    bare_model_class = "modeling_imagine.ImagineModel"

    num_mechanisms: int = 3  # ER, IP, EX (binary each)
    use_causes: bool = True
    use_mechanisms: bool = True
    use_knowledge: bool = True
    face_counts: Literal["predictions", "targets"] = "predictions"
    generation_loss_weight: float = 1.0  # λ1
    emotion_loss_weight: float = 1.0  # λ2
    mechanism_loss_weight: float = 1.0  # λ3
    diversity_loss_weight: float = 1.5  # λ4

    def _check(self) -> None:
        super()._check()
        if self.face_counts not in ("predictions", "targets"):
            raise ValueError(f"Invalid ImagineConfig: face_counts must be 'predictions' or 'targets', got {self.face_counts!r}")
        if not self.use_emotion_classifier:
            raise ValueError("Invalid ImagineConfig: IMAGINE perceives the emotion (eqs. 1-3): use_emotion_classifier must be True")


__all__ = ["ImagineConfig"]
