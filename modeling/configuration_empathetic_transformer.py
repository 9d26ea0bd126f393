"""Configuration of the Transformer / Multi-TRS baseline of the empathetic-dialogue papers.

Defaults are the hyper-parameters MoEL, EmpDG and KEMP used for their Transformer baselines
(300-d embeddings and hidden states, 1 layer, 2 heads, total key/value depth 40, filter 50).
"""

from __future__ import annotations

from transformers import PreTrainedConfig

from .emotions import emotion_id2label


class EmpatheticTransformerConfig(PreTrainedConfig):
    r"""Word-level encoder-decoder with an emotion classifier on the encoder's first ([CLS]) position.

    ``use_emotion_classifier=True`` is Multi-TRS (loss = generation NLL + emotion NLL); ``False`` is the plain
    Transformer. ``id2label`` holds the emotion labels (the 32 EmpatheticDialogues emotions by default).
    """

    model_type = "empathetic_transformer"
    bare_model_class = "modeling_empathetic_transformer.EmpatheticTransformerModel"  # auto_map's AutoModel entry
    keys_to_ignore_at_inference = ["past_key_values"]
    attribute_map = {"hidden_size": "d_model", "num_attention_heads": "num_heads", "num_hidden_layers": "encoder_layers"}

    vocab_size: int = 30000  # word vocabulary built on the training split
    d_model: int = 300  # embedding and hidden size
    encoder_layers: int = 1
    decoder_layers: int = 1
    num_heads: int = 2
    attention_dim: int = 40  # total key/value depth shared by the heads (MoEL's ``depth``)
    ffn_dim: int = 50  # position-wise feed-forward size (MoEL's ``filter``)
    dropout: float = 0.0  # residual/FFN dropout; MoEL-style baselines use none
    attention_dropout: float = 0.0
    embedding_dropout: float = 0.0
    # dropout on the emotion classifier's input (Multi-TRS's [CLS] state, KEMP's c_e); the officials have none
    classifier_dropout: float = 0.0
    max_position_embeddings: int = 1000  # sinusoidal positions; longer histories are truncated by the featurizer
    scale_embedding: bool = True  # word embeddings × sqrt(d_model), initialised N(0, d_model^-0.5)
    num_dialogue_states: int = 2  # speaker and listener embeddings added to every context token
    use_emotion_classifier: bool = True  # Multi-TRS head; False = plain Transformer
    emotion_loss_weight: float = 1.0
    label_smoothing: float = 0.0  # on the generation NLL during training only
    init_std: float = 0.02  # std of normal(0, init_std) matrices when init_method="normal"
    # "xavier_uniform": every Linear matrix Xavier-uniform, biases zero, as MoEL's and KEMP's main.py
    # (``for p in model.parameters(): if p.dim() > 1: xavier_uniform_(p)``; word embeddings keep their own init)
    init_method: str = "normal"
    output_bias: bool = False  # a bias on the vocabulary projection (MoEL/KEMP's ``Generator.proj`` has one)
    pad_token_id: int | None = 0
    unk_token_id: int | None = 1
    bos_token_id: int | None = 2
    eos_token_id: int | list[int] | None = 3
    cls_token_id: int | None = 4
    decoder_start_token_id: int | None = 2
    is_encoder_decoder: bool = True
    tie_word_embeddings: bool = True
    use_cache: bool = True

    def __post_init__(self, **kwargs):
        if self.id2label is None and kwargs.get("num_labels") is None:
            self.id2label = emotion_id2label()
        super().__post_init__(**kwargs)
        self.label2id = {label: i for i, label in self.id2label.items()}
        # save_pretrained adds AutoConfig / AutoModelForSeq2SeqLM; the bare model (if the architecture has one) is listed here.
        if self.bare_model_class:
            self.auto_map = {"AutoModel": self.bare_model_class, **(getattr(self, "auto_map", None) or {})}
        self._check()

    def _check(self) -> None:
        problems = []
        for name in ("vocab_size", "d_model", "encoder_layers", "decoder_layers", "num_heads", "attention_dim", "ffn_dim"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1 (got {getattr(self, name)})")
        if self.attention_dim % self.num_heads:
            problems.append(f"attention_dim ({self.attention_dim}) must be divisible by num_heads ({self.num_heads})")
        for name in ("pad_token_id", "unk_token_id", "bos_token_id", "eos_token_id", "cls_token_id", "decoder_start_token_id"):
            value = getattr(self, name)
            if isinstance(value, int) and not 0 <= value < self.vocab_size:
                problems.append(f"{name}={value} is outside the vocabulary (size {self.vocab_size})")
        if self.init_method not in ("normal", "xavier_uniform"):
            problems.append(f"init_method must be 'normal' or 'xavier_uniform' (got {self.init_method!r})")
        if problems:
            raise ValueError(f"Invalid {type(self).__name__}: " + "; ".join(problems))


__all__ = ["EmpatheticTransformerConfig"]
