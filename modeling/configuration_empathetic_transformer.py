"""Configuration of the Transformer / Multi-TRS baseline of the empathetic-dialogue papers.

Defaults are the hyper-parameters MoEL, EmpDG and KEMP used for their Transformer baselines
(300-d embeddings and hidden states, 1 layer, 2 heads, total key/value depth 40, filter 50).
"""

from __future__ import annotations

from .configuration_common import NEVER_READ, EmpatheticEncoderDecoderConfig


class EmpatheticTransformerConfig(EmpatheticEncoderDecoderConfig):
    r"""Word-level encoder-decoder with an emotion classifier on the encoder's first ([CLS]) position.

    ``use_emotion_classifier=True`` is Multi-TRS (loss = generation NLL + emotion NLL); ``False`` is the plain
    Transformer. Sizes, dropouts, initialisation and special tokens: :class:`~.configuration_common.EmpatheticConfig`.

    Args:
        num_dialogue_states (`int`, defaults to 2): speaker and listener embeddings added to every context token.
        use_emotion_classifier (`bool`, defaults to `True`): the Multi-TRS emotion head; `False` = plain Transformer.
        emotion_loss_weight (`float`, defaults to 1.0): weight of the emotion NLL.
        classifier_dropout (`float`, defaults to 0.0): dropout on the emotion head's input, the [CLS] state (the
            officials have none).
        label_smoothing (`float`, defaults to 0.0): on the generation NLL, during training only.
        output_bias (`bool`, defaults to `False`): a bias on the vocabulary projection (MoEL's ``Generator.proj``).
    """

    model_type = "empathetic_transformer"
    bare_model_class = "modeling_empathetic_transformer.EmpatheticTransformerModel"  # auto_map's AutoModel entry
    removed_fields = (*NEVER_READ, "cls_token_id")  # [CLS] is the featurizer's (the tokenizer's), never the config's

    num_dialogue_states: int = 2
    use_emotion_classifier: bool = True
    emotion_loss_weight: float = 1.0
    classifier_dropout: float = 0.0
    label_smoothing: float = 0.0
    output_bias: bool = False


__all__ = ["EmpatheticTransformerConfig"]
