"""Configuration of the emotion-cause model of Gao et al. (2021), "Improving Empathetic Response Generation
by Recognizing Emotion Cause in Conversations": an emotion reasoner and a gated-attention response generator.

Defaults are the paper's (Appendix A): 300-d embeddings and hidden states, a 1-layer 1-head reasoner without
position embeddings, a 6-layer 8-head generator, top-k (k = 3) sampling. 300 is not divisible by 8 heads,
so the generator's total key/value depth is 320 (40 per head); its feed-forward size is 4 × 300.
"""

from __future__ import annotations

from typing import Literal

from .configuration_empathetic_transformer import EmpatheticTransformerConfig


class EmoCauseConfig(EmpatheticTransformerConfig):
    r"""Emotion reasoner (emotion from [CLS], word-level cause labels; eqs. 1–4) + response generator whose
    inputs add an embedding of the predicted emotion and whose decoder layers add a gated attention over the
    encoder (eq. 5) with ``gating="soft"`` (g = P(c = 1)) or ``"hard"`` (straight-through Gumbel-softmax).

    Ablations: ``multitask=False`` (the reasoner is not trained with the generator), ``use_emotion_embedding=False``
    (w/o emotion label), ``use_cause_gating=False`` (w/o cause: no gated attention).
    """

    model_type = "emocause"
    bare_model_class = "modeling_emocause.EmoCauseModel"

    encoder_layers: int = 6
    decoder_layers: int = 6
    num_heads: int = 8
    attention_dim: int = 320
    ffn_dim: int = 1200
    reasoner_layers: int = 1
    reasoner_heads: int = 1
    reasoner_ffn_dim: int = 300
    gating: Literal["soft", "hard"] = "soft"
    gumbel_temperature: float = 1.0  # τ of the hard gates' Gumbel-softmax during training
    multitask: bool = True  # L_ml = L_r + L_g (eq. 7); False = "w/o multi-task"
    use_emotion_embedding: bool = True  # False = "w/o emotion label"
    use_cause_gating: bool = True  # False = "w/o cause"

    def _check(self) -> None:
        super()._check()
        if self.gating not in ("soft", "hard"):
            raise ValueError(f"Invalid EmoCauseConfig: gating must be 'soft' or 'hard', got {self.gating!r}")
        if self.d_model % self.reasoner_heads:
            raise ValueError(f"Invalid EmoCauseConfig: d_model ({self.d_model}) must be divisible by reasoner_heads ({self.reasoner_heads})")
        if not self.use_emotion_classifier:
            raise ValueError("Invalid EmoCauseConfig: the emotion reasoner (eq. 1) needs use_emotion_classifier=True")


__all__ = ["EmoCauseConfig"]
