"""Every configuration field changes the model (issue 20): for each registered architecture, the docstring's Args
section documents every ``__init__`` parameter, and every documented field is read while the model is built, runs one
training forward, one evaluation forward and a short ``generate``, and its featurizer is built from the config.

Reads are recorded by wrapping the config class's ``__getattribute__`` once the config exists (its own validation
in ``__post_init__`` does not count); the generation parameters (token ids, ``use_cache``) count as read because the
model's generation config copies them. A field nothing reads is then reported by name; the last tests show that the
check fails for an unused or an undocumented field."""

from __future__ import annotations

import dataclasses
import json
import inspect
import re
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
import torch
from transformers import BartConfig, BlenderbotSmallConfig, GenerationConfig, PreTrainedConfig

import empathetic_models
from empathetic_models import featurization, subword_featurization
from empathetic_models.featurization import featurizer_class
from empathetic_models.modeling.configuration_empathetic_transformer import EmpatheticTransformerConfig

V = 40  # vocabulary of the tiny word-level models and backbones
TINY = dict(vocab_size=V, d_model=16, attention_dim=8, ffn_dim=16, num_heads=2, max_position_embeddings=64)
ARCHITECTURES = {name: (config, lm) for name, (config, _, lm) in empathetic_models.ARCHITECTURES.items()}
ARCHITECTURES.update(empathetic_models.BACKBONE_ARCHITECTURES)


def documented_fields(config_class: type) -> set[str]:
    """Names of the Args entries (``name (`type`...): ...``) in the docstrings of the class and its bases (up to
    transformers' own, whose generic fields transformers documents)."""
    names = set()
    for klass in config_class.__mro__:
        if klass is PreTrainedConfig or not klass.__dict__.get("__doc__"):
            continue
        doc = inspect.cleandoc(klass.__dict__["__doc__"])
        if "Args:" in doc:
            names |= set(re.findall(r"^    (\w+) \(`", doc.split("Args:", 1)[1], flags=re.MULTILINE))
    return names


def init_parameters(config_class: type) -> set[str]:
    """What ``__init__`` takes besides transformers' generic fields: the dataclass fields, or a custom signature's."""
    if "__init__" in config_class.__dict__ and not hasattr(config_class.__init__, "__wrapped__"):
        return {p for p in inspect.signature(config_class.__init__).parameters if p not in ("self", "kwargs")}
    return {f.name for f in dataclasses.fields(config_class)} - {f.name for f in dataclasses.fields(PreTrainedConfig)}


@contextmanager
def recorded_reads(config_class: type):
    """The set of attribute names read on any instance of ``config_class`` inside the block (attribute_map aliases
    resolved)."""
    reads, original = set(), config_class.__getattribute__
    aliases = config_class.attribute_map

    def spy(self, key):
        value = original(self, key)
        reads.add(aliases.get(key, key))
        return value

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(config_class, "__getattribute__", spy)
        yield reads


# --- tiny configs that take every branch, and a batch for each -------------------------------------------------


def _words(*shape, low=5):
    return torch.randint(low, V, shape, generator=torch.Generator().manual_seed(sum(shape)))


def _labels():
    labels = _words(2, 4)
    labels[:, -1] = 3  # EOS
    labels[1, -1] = -100
    return labels


def _context_batch():
    input_ids = _words(2, 6)
    input_ids[:, 0] = 4  # [CLS]
    return {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids), "dialogue_state_ids": torch.tensor([[0, 0, 0, 1, 1, 0]] * 2),
            "labels": _labels(), "emotion_labels": torch.tensor([0, 5])}  # fmt: skip


def _graph_batch():
    """KEMP's (and CASE's) vertices: [CLS], four words, two concepts of word 1."""
    batch = _context_batch()
    batch["input_ids"] = torch.cat([batch["input_ids"][:, :5], _words(2, 2)], 1)
    batch["attention_mask"] = torch.ones_like(batch["input_ids"])
    batch["dialogue_state_ids"] = torch.tensor([[0, 0, 0, 1, 1, 2, 2]] * 2)
    batch["concept_sources"] = torch.tensor([[-1, -1, -1, -1, -1, 1, 1]] * 2)
    batch["emotion_intensity"] = torch.rand(2, 7, generator=torch.Generator().manual_seed(0))
    return batch


def _case_batch(pad: int = 0, cls: int = 4):
    batch = _graph_batch()
    cs = _words(2, 4, 3)
    cs[:, :, 0] = cls
    cs[1, 2:] = pad  # the second dialogue has one inference
    batch.update(cs_input_ids=cs, cs_attention_mask=cs.ne(pad).long(), cs_vertex_types=torch.tensor([[0, 1, 2, 3], [0, 2, -1, -1]]),
                 cs_owners=torch.tensor([[0, 1, 0, 1], [0, 0, 0, 0]]), reaction_ids=_words(2, 2, 3))  # fmt: skip
    batch["reaction_attention_mask"] = batch["reaction_ids"].ne(pad).long()
    return batch


def _imagine_batch():
    batch = _context_batch()
    batch.update(cause_input_ids=batch["input_ids"][:, :4], cause_attention_mask=torch.ones(2, 4, dtype=torch.long),
                 cause_state_ids=torch.zeros(2, 4, dtype=torch.long), knowledge_ids=_words(2, 4, 3),
                 knowledge_attention_mask=torch.ones(2, 4, 3, dtype=torch.long), mechanism_labels=torch.tensor([[0, 1, 1], [1, 0, 0]]))  # fmt: skip
    return batch


def _emocause_batch():
    batch = _context_batch()
    del batch["dialogue_state_ids"]
    batch["cause_labels"] = torch.tensor([[1, 0, 1, 0, 0, 1]] * 2)
    return batch


def _bart() -> dict:
    return BartConfig(vocab_size=V, d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2, decoder_attention_heads=2,
                      encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=64, pad_token_id=1, bos_token_id=0, eos_token_id=2,
                      decoder_start_token_id=2, forced_eos_token_id=None).to_dict()  # fmt: skip


def _blenderbot() -> dict:
    return BlenderbotSmallConfig(vocab_size=V, d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                                 decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=64,
                                 pad_token_id=0, bos_token_id=1, eos_token_id=2, decoder_start_token_id=1, forced_eos_token_id=None).to_dict()  # fmt: skip


def _nec_batch():
    batch = _context_batch()
    for key in ("dialogue_state_ids", "emotion_labels"):
        del batch[key]
    batch["labels"][1, -1] = 2
    batch.update(knowledge_input_ids=_words(2, 3, 4), knowledge_attention_mask=torch.ones(2, 3, 4, dtype=torch.long),
                 negative_ids=_words(2, 2, 4), negative_sources=torch.tensor([[0, 3], [0, -1]]))  # fmt: skip
    return batch


# model_type → (config settings taking every branch, batch, generate() settings)
CASES = {
    "empathetic_transformer": (dict(label_smoothing=0.1, classifier_dropout=0.1), _context_batch, {}),
    "kemp": (dict(label_smoothing=0.1, classifier_dropout=0.1), _graph_batch, {}),
    "emocause": (dict(gating="hard", label_smoothing=0.1, reasoner_ffn_dim=16), _emocause_batch, {}),
    "imagine": (dict(face_counts="targets"), _imagine_batch, {}),
    "case": (dict(label_smoothing=0.1), _case_batch, {}),
    "case_blenderbot": (dict(backbone=_blenderbot(), label_smoothing=0.1), lambda: _case_batch(pad=0, cls=1), {}),
    "nec": (dict(backbone=_bart(), contrastive=True, self_generated=2), _nec_batch, {"num_beams": 2}),
}
BACKBONE_TYPES = set(empathetic_models.BACKBONE_ARCHITECTURES)


def build_config(model_type: str, config_class: type | None = None, **overrides):
    settings, _, _ = CASES[model_type]
    config_class = config_class or ARCHITECTURES[model_type][0]
    kwargs = {**settings, **overrides} if model_type in BACKBONE_TYPES else {**TINY, **settings, **overrides}
    return config_class(**kwargs)


def build_featurizer(model_type: str, config, patch: pytest.MonkeyPatch) -> None:
    """``from_arguments`` of the model's featurizer with every resource stubbed: what it reads of ``config``."""
    from empathetic_models.knowledge.mechanisms import MechanismClassifier
    from empathetic_models.knowledge.sentence_encoder import SentenceEncoder
    from empathetic_models.training.train import ModelArguments

    stub = lambda *args, **kwargs: None  # noqa: E731
    for module, name in ((featurization, "_commonsense"), (featurization, "_cause_detector"), (subword_featurization, "_commonsense")):
        patch.setattr(module, name, stub)
    patch.setattr(featurization.KempFeaturizer, "build_retriever", staticmethod(stub))
    patch.setattr(SentenceEncoder, "from_pretrained", classmethod(stub))
    patch.setattr(MechanismClassifier, "from_pretrained", classmethod(stub))
    cls = featurizer_class(model_type)
    patch.setattr(cls, "__init__", lambda self, *args, **kwargs: None)
    arguments = SimpleNamespace(**{f.name: "stub" for f in dataclasses.fields(ModelArguments)})
    arguments.entity_scorer = None
    cls.from_arguments(SimpleNamespace(get_vocab=dict), config, arguments)


def exercise(model_type: str, config) -> set[str]:
    """The fields of ``config`` read while its model is built, trains one step, evaluates, generates and its
    featurizer is built."""
    _, batch_of, generate_settings = CASES[model_type]
    batch = batch_of()
    inputs = {k: v for k, v in batch.items() if k not in ("labels", "emotion_labels", "cause_labels", "mechanism_labels", "negative_ids", "negative_sources")}
    model_class = ARCHITECTURES[model_type][1]
    with recorded_reads(type(config)) as reads, pytest.MonkeyPatch.context() as patch:
        torch.manual_seed(0)
        model = model_class(config).train()
        model(**batch).loss.backward()
        model.eval()
        with torch.no_grad():
            model(**batch)
            model.generate(**inputs, max_new_tokens=2, **generate_settings)
        build_featurizer(model_type, config, patch)
    # the model's generation config takes every generation parameter of its config (through ``to_dict``)
    return reads | (set(config.to_dict()) & set(GenerationConfig().to_dict()))


def test_every_architecture_is_covered():
    assert set(CASES) == set(ARCHITECTURES)


@pytest.mark.parametrize("model_type", sorted(ARCHITECTURES))
def test_docstring_documents_every_init_parameter_and_nothing_else(model_type):
    config_class = ARCHITECTURES[model_type][0]
    documented, parameters = documented_fields(config_class), init_parameters(config_class)
    assert not parameters - documented, f"{config_class.__name__} takes undocumented parameters {sorted(parameters - documented)}"
    assert not documented - parameters, f"{config_class.__name__} documents parameters it does not take {sorted(documented - parameters)}"


@pytest.mark.parametrize("model_type", sorted(ARCHITECTURES))
def test_every_documented_field_is_read(model_type):
    config = build_config(model_type)
    unread = documented_fields(type(config)) - exercise(model_type, config)
    assert not unread, f"{type(config).__name__}: nothing reads {sorted(unread)}"


class _UnusedFieldConfig(EmpatheticTransformerConfig):
    r"""Multi-TRS with a field nothing reads.

    Args:
        unused_knob (`int`, defaults to 0): changes nothing.
    """

    unused_knob: int = 0


class _UndocumentedFieldConfig(EmpatheticTransformerConfig):
    """Multi-TRS with a field its docstring does not name."""

    hidden_knob: int = 0


def test_the_checks_fail_for_an_unused_and_for_an_undocumented_field():
    config = build_config("empathetic_transformer", _UnusedFieldConfig)
    assert documented_fields(_UnusedFieldConfig) - exercise("empathetic_transformer", config) == {"unused_knob"}
    assert init_parameters(_UndocumentedFieldConfig) - documented_fields(_UndocumentedFieldConfig) == {"hidden_knob"}


@pytest.mark.parametrize("model_type", sorted(set(ARCHITECTURES) - {"nec"}))
def test_a_config_json_with_removed_keys_still_loads_and_round_trips(model_type, tmp_path):
    """Keys of older checkpoints that nothing read (``removed_fields``) are dropped; the rest round-trips exactly."""
    config_class = ARCHITECTURES[model_type][0]
    build_config(model_type).save_pretrained(tmp_path)
    current = config_class.from_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**saved, **{key: 1 for key in config_class.removed_fields}}))
    loaded = config_class.from_pretrained(tmp_path)
    assert not any(key in loaded.to_dict() for key in config_class.removed_fields)
    assert loaded.to_dict() == current.to_dict()
    loaded.save_pretrained(tmp_path / "again")
    assert json.loads((tmp_path / "again" / "config.json").read_text()) == saved
