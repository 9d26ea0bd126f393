"""Configuration of the emotion-cause model of Gao et al. (2021), "Improving Empathetic Response Generation
by Recognizing Emotion Cause in Conversations": an emotion reasoner and a gated-attention response generator.

Defaults are the paper's (Appendix A): 300-d embeddings and hidden states, a 1-layer 1-head reasoner without
position embeddings, a 6-layer 8-head generator, top-k (k = 3) sampling. 300 is not divisible by 8 heads,
so the generator's total key/value depth is 320 (40 per head); its feed-forward size is 4 × 300.
"""

from __future__ import annotations

from typing import Literal

from .configuration_common import NEVER_READ, EmpatheticEncoderDecoderConfig


class EmoCauseConfig(EmpatheticEncoderDecoderConfig):
    r"""Emotion reasoner (emotion from [CLS], word-level cause labels; eqs. 1–4) + response generator whose
    inputs add an embedding of the predicted emotion and whose decoder layers add a gated attention over the
    encoder (eq. 5) with ``gating="soft"`` (g = P(c = 1)) or ``"hard"`` (straight-through Gumbel-softmax).

    Ablations: ``multitask=False`` (the reasoner is not trained with the generator), ``use_emotion_embedding=False``
    (w/o emotion label), ``use_cause_gating=False`` (w/o cause: no gated attention). The reasoner always predicts
    the emotion (eq. 1); L_ml is the unweighted sum of eq. 7; the inputs carry no dialogue states. Sizes, dropouts,
    initialisation and special tokens: :class:`~.configuration_common.EmpatheticConfig` (defaults here: 6 layers,
    8 heads, depth 320, filter 1200).

    Args:
        reasoner_layers (`int`, defaults to 1): layers of the emotion reasoner (no position embeddings).
        reasoner_heads (`int`, defaults to 1): its heads (its key/value depth is ``d_model``).
        reasoner_ffn_dim (`int`, defaults to 300): its feed-forward size.
        gating (`str`, defaults to ``"soft"``): the gates of eq. 5, ``"soft"`` (g = P(c = 1)) or ``"hard"``
            (straight-through Gumbel-softmax samples in training, the most likely label otherwise).
        gumbel_temperature (`float`, defaults to 1.0): τ of the hard gates' Gumbel-softmax during training.
        multitask (`bool`, defaults to `True`): L_ml = L_r + L_g (eq. 7); `False` = "w/o multi-task".
        use_emotion_embedding (`bool`, defaults to `True`): `False` = "w/o emotion label".
        use_cause_gating (`bool`, defaults to `True`): `False` = "w/o cause" (no gated attention).
        label_smoothing (`float`, defaults to 0.0): on the generation NLL L_g, during training only.
        output_bias (`bool`, defaults to `False`): a bias on the vocabulary projection.
    """

    model_type = "emocause"
    bare_model_class = "modeling_emocause.EmoCauseModel"
    # the reasoner always classifies, without dropout, L_ml is unweighted, and the inputs have no dialogue states
    removed_fields = (*NEVER_READ, "cls_token_id", "use_emotion_classifier", "classifier_dropout", "emotion_loss_weight", "num_dialogue_states")

    encoder_layers: int = 6
    decoder_layers: int = 6
    num_heads: int = 8
    attention_dim: int = 320
    ffn_dim: int = 1200
    reasoner_layers: int = 1
    reasoner_heads: int = 1
    reasoner_ffn_dim: int = 300
    gating: Literal["soft", "hard"] = "soft"
    gumbel_temperature: float = 1.0
    multitask: bool = True
    use_emotion_embedding: bool = True
    use_cause_gating: bool = True
    label_smoothing: float = 0.0
    output_bias: bool = False

    def _check(self) -> None:
        super()._check()
        if self.gating not in ("soft", "hard"):
            raise ValueError(f"Invalid EmoCauseConfig: gating must be 'soft' or 'hard', got {self.gating!r}")
        if self.d_model % self.reasoner_heads:
            raise ValueError(f"Invalid EmoCauseConfig: d_model ({self.d_model}) must be divisible by reasoner_heads ({self.reasoner_heads})")


__all__ = ["EmoCauseConfig"]
