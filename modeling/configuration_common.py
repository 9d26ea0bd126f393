"""Fields shared by the configurations of this folder's models.

- :class:`EmpatheticConfig`: the sizes of the blocks of :mod:`.layers` (width, heads, key/value depth, feed-forward),
  dropouts, weight initialisation, special tokens and the emotion labels; the base of every model built from those
  blocks, including CASE-BlenderBot (whose sizes follow its backbone).
- :class:`EmpatheticEncoderDecoderConfig`: adds the layers and word embedding of a model whose encoder and decoder are
  its own (every from-scratch model).

Each configuration documents its fields in an Args section, and every field changes the model
(``tests/test_config_fields.py``). A field that was dropped because nothing read it is listed in ``removed_fields``:
a ``config.json`` saved with it still loads, and the key is ignored with a warning.
"""

from __future__ import annotations

import os
from typing import Callable, ClassVar

from transformers import PreTrainedConfig
from transformers.utils import logging

from .emotions import emotion_id2label

logger = logging.get_logger(__name__)

# keys older checkpoints may carry that no model of this folder ever read (issue 20)
NEVER_READ = ("unk_token_id",)


class EmpatheticConfig(PreTrainedConfig):
    r"""Sizes, dropouts, initialisation and special tokens of the blocks of :mod:`.layers`. ``id2label`` holds the
    emotion labels (the 32 EmpatheticDialogues emotions by default).

    Defaults are the hyper-parameters MoEL, EmpDG and KEMP used for their Transformer baselines (300-d embeddings and
    hidden states, 2 heads, total key/value depth 40, filter 50).

    Args:
        vocab_size (`int`, defaults to 30000): the word vocabulary (built on the training split).
        d_model (`int`, defaults to 300): embedding and hidden size.
        num_heads (`int`, defaults to 2): attention heads of every block.
        attention_dim (`int`, defaults to 40): total key/value depth shared by the heads (MoEL's ``depth``).
        ffn_dim (`int`, defaults to 50): position-wise feed-forward size (MoEL's ``filter``).
        dropout (`float`, defaults to 0.0): residual and feed-forward dropout (MoEL-style baselines use none).
        attention_dropout (`float`, defaults to 0.0): dropout on the attention weights.
        embedding_dropout (`float`, defaults to 0.0): dropout on the embedded inputs of every encoder and decoder.
        max_position_embeddings (`int`, defaults to 1000): length of the sinusoidal position table (longer histories
            are truncated by the featurizer).
        init_std (`float`, defaults to 0.02): std of the normal(0, init_std) matrices when ``init_method="normal"``.
        init_method (`str`, defaults to ``"normal"``): ``"normal"``, or ``"xavier_uniform"`` (every Linear matrix
            Xavier-uniform, biases zero, as MoEL's and KEMP's main.py; word embeddings keep their own init).
        pad_token_id (`int`, defaults to 0): padding (the word embedding's zero row).
        bos_token_id (`int`, defaults to 2): beginning of sequence (the generation config's).
        eos_token_id (`int` or `list[int]`, defaults to 3): end of the response (ends generation).
        decoder_start_token_id (`int`, defaults to 2): first decoder input.
        tie_word_embeddings (`bool`, defaults to `True`): the vocabulary projection shares the word embedding.
        use_cache (`bool`, defaults to `True`): decode with a key/value cache.
    """

    bare_model_class = None  # "modeling_<name>.<Model>": auto_map's AutoModel entry, where the architecture has one
    removed_fields = NEVER_READ  # keys of older config.json files that are ignored (see the module docstring)
    keys_to_ignore_at_inference = ["cache"]  # noqa: RUF012  (the outputs' key/value cache; Trainer drops it from predictions)
    attribute_map = {"hidden_size": "d_model", "num_attention_heads": "num_heads"}  # noqa: RUF012
    # Set by the empathetic_models package (checkpoints.explain_config_mismatch): given a local folder, its config.json
    # fields and the error they raised, the exception to raise instead (it names the model type the saved weights
    # belong to). None when these files are used alone (trust_remote_code), which keeps the plain error.
    mismatch_explainer: ClassVar[Callable[[str, dict, Exception], Exception] | None] = None

    @classmethod
    def from_dict(cls, config_dict, **kwargs):
        # AutoConfig.from_pretrained (and so pipeline(), before any model class runs) builds the class that config.json's
        # model_type names: a config.json saved by another of our models fails here, on a field of the wrong class.
        try:
            return super().from_dict(config_dict, **kwargs)
        except (ValueError, TypeError) as error:
            folder, explain = kwargs.get("name_or_path"), EmpatheticConfig.mismatch_explainer
            if explain is None or folder is None or not os.path.isdir(folder):
                raise
            raise explain(str(folder), config_dict, error) from error

    vocab_size: int = 30000
    d_model: int = 300
    num_heads: int = 2
    attention_dim: int = 40
    ffn_dim: int = 50
    dropout: float = 0.0
    attention_dropout: float = 0.0
    embedding_dropout: float = 0.0
    max_position_embeddings: int = 1000
    init_std: float = 0.02
    init_method: str = "normal"
    pad_token_id: int | None = 0
    bos_token_id: int | None = 2
    eos_token_id: int | list[int] | None = 3
    decoder_start_token_id: int | None = 2
    is_encoder_decoder: bool = True
    tie_word_embeddings: bool = True
    use_cache: bool = True

    def __post_init__(self, **kwargs):
        for key in self.removed_fields:
            if key in kwargs:
                kwargs.pop(key)
                logger.warning_once(f"{type(self).__name__}: ignoring {key!r}, which no longer exists (it never changed the model)")
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
        for name in self.positive_fields():
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1 (got {getattr(self, name)})")
        if self.attention_dim % self.num_heads:
            problems.append(f"attention_dim ({self.attention_dim}) must be divisible by num_heads ({self.num_heads})")
        for name in self.token_fields():
            value = getattr(self, name)
            if isinstance(value, int) and not 0 <= value < self.vocab_size:
                problems.append(f"{name}={value} is outside the vocabulary (size {self.vocab_size})")
        if self.init_method not in ("normal", "xavier_uniform"):
            problems.append(f"init_method must be 'normal' or 'xavier_uniform' (got {self.init_method!r})")
        if problems:
            raise ValueError(f"Invalid {type(self).__name__}: " + "; ".join(problems))

    def positive_fields(self) -> tuple[str, ...]:
        return ("vocab_size", "d_model", "num_heads", "attention_dim", "ffn_dim")

    def token_fields(self) -> tuple[str, ...]:
        return ("pad_token_id", "bos_token_id", "eos_token_id", "decoder_start_token_id")


class EmpatheticEncoderDecoderConfig(EmpatheticConfig):
    r""":class:`EmpatheticConfig` of a model whose encoder and decoder are its own, over a word embedding it owns.

    Args:
        encoder_layers (`int`, defaults to 1): layers of the context encoder.
        decoder_layers (`int`, defaults to 1): layers of the response decoder.
        scale_embedding (`bool`, defaults to `True`): word embeddings × sqrt(d_model), initialised N(0, d_model^-0.5).
    """

    attribute_map = {**EmpatheticConfig.attribute_map, "num_hidden_layers": "encoder_layers"}  # noqa: RUF012

    encoder_layers: int = 1
    decoder_layers: int = 1
    scale_embedding: bool = True

    def positive_fields(self) -> tuple[str, ...]:
        return (*super().positive_fields(), "encoder_layers", "decoder_layers")


__all__ = ["EmpatheticConfig", "EmpatheticEncoderDecoderConfig"]
