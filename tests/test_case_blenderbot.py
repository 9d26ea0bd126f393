"""CASE-BlenderBot (case.txt §4.5) on a tiny random BlenderbotSmall with a word-piece tokenizer: backbone wrapping,
no-op start, subword vertices, losses, ablations, phase 1, batched generation, save/load, trust_remote_code,
training (BlenderBot checkpoint and warm-started BERT encoder-decoder)."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import torch
from test_case import (
    CN4,
    DIALOGUES,
    NRC_VAD,
    TRIPLES,
    WEIGHTS,
    _terms,
    _training_batch,
    assert_batched_cached_generation_equals_one_at_a_time,
)
from transformers import AutoModelForSeq2SeqLM, BlenderbotSmallConfig, BlenderbotSmallForConditionalGeneration, PreTrainedTokenizerFast

from empathetic_models.data import load_empathetic_dialogues
from empathetic_models.featurization import FEATURIZER_CONFIG, CaseBlenderbotFeaturizer, featurizer_for
from empathetic_models.inference import generate_responses, load_checkpoint
from empathetic_models.knowledge import KNOWLEDGE_FILE, AtomicRetriever, ConceptIndex, ConceptRetriever, Edge, SentenceEncoder, VADLexicon
from empathetic_models.knowledge.retrieval import RetrievalConfig
from empathetic_models.modeling.configuration_case_blenderbot import CaseBlenderbotConfig
from empathetic_models.modeling.graphs import CONCEPT_STATE
from empathetic_models.modeling.modeling_case_blenderbot import CaseBlenderbotForConditionalGeneration
from remote_code import generate_without_the_package

SPECIAL = ["__null__", "__start__", "__end__", "__unk__"]  # BlenderBot-small's pad, bos, eos, unk (ids 0-3)


@pytest.fixture(scope="module")
def blenderbot(tmp_path_factory):
    return save_tiny_blenderbot(tmp_path_factory.mktemp("tiny_blenderbot"))


def save_tiny_blenderbot(folder):
    """A tiny random BlenderbotSmall and a word-piece tokenizer ("birthday" → "birth" "##day"), saved like a hub checkpoint."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    sample = load_empathetic_dialogues("sample")["train"]
    texts = [u for c in sample["context"] for u in c] + list(sample["target"]) + [t for *_, t in TRIPLES]
    words = Counter(w for t in texts for w in pre_tokenizers.BertPreTokenizer().pre_tokenize_str(t.lower()))
    concepts = {"exam", "scared", "grade", "nervous", "party", "cake"}
    vocab = [*SPECIAL, "birth", "##day", *sorted(({w for (w, _), _ in words.most_common(600)} | concepts) - {"birthday"})]
    backend = Tokenizer(models.WordPiece({w: i for i, w in enumerate(vocab)}, unk_token="__unk__"))
    backend.normalizer = normalizers.Lowercase()
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="__null__", bos_token="__start__", eos_token="__end__", unk_token="__unk__")
    config = BlenderbotSmallConfig(vocab_size=len(vocab), d_model=16, encoder_layers=1, decoder_layers=2, encoder_attention_heads=2,
                                   decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, max_position_embeddings=128,
                                   pad_token_id=0, bos_token_id=1, eos_token_id=2, decoder_start_token_id=1, forced_eos_token_id=None,
                                   dropout=0.0, init_std=0.5)  # fmt: skip
    torch.manual_seed(0)
    BlenderbotSmallForConditionalGeneration(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tokenizer(blenderbot):
    return PreTrainedTokenizerFast.from_pretrained(blenderbot)


@pytest.fixture(scope="module")
def featurizer(tmp_path_factory, tokenizer, tiny_cause_encoder):
    return make_featurizer(tmp_path_factory.mktemp("vad"), tokenizer, tiny_cause_encoder)


def make_featurizer(folder, tokenizer, tiny_cause_encoder) -> CaseBlenderbotFeaturizer:
    """CASE-BlenderBot's featurizer on hand-made ConceptNet edges, VAD rows (written under ``folder``) and ATOMIC tuples."""
    lexicon = folder / "vad.txt"
    rows = {"nervous": 0.9, "scared": 0.85, "grade": 0.5, "party": 0.8, "cake": 0.4, "gift": 0.5, "happy": 0.7, "birthday": 0.6}
    lexicon.write_text("Word\tValence\tArousal\tDominance\n" + "".join(f"{w}\t0.5\t{a}\t0.5\n" for w, a in rows.items()))
    edges = {
        "exam": [Edge("Causes", "scared", 1.0), Edge("RelatedTo", "grade", 1.0), Edge("Causes", "nervous", 1.0)],
        "party": [Edge("RelatedTo", "birthday", 1.0), Edge("HasA", "cake", 1.0)],
    }
    retriever = ConceptRetriever(ConceptIndex(edges, "hand-made"), VADLexicon.from_file(lexicon), None, RetrievalConfig(concepts_per_dialogue=10**6))
    commonsense = AtomicRetriever(TRIPLES, SentenceEncoder.from_pretrained(tiny_cause_encoder, device="cpu"), "test tuples", neighbors=1)
    return CaseBlenderbotFeaturizer(tokenizer, retriever, commonsense=commonsense, max_concepts=3, inferences_per_relation=2, max_source_length=64)


def make_model(blenderbot, seed: int = 0, **overrides) -> CaseBlenderbotForConditionalGeneration:
    torch.manual_seed(seed)
    return CaseBlenderbotForConditionalGeneration.from_backbone(str(blenderbot), **overrides).eval()


def _open_gates(model) -> None:
    """Make the new parts matter (they start as a no-op)."""
    with torch.no_grad():
        for attentions in model.knowledge_attention:
            for attention in attentions:
                attention.gate.fill_(1.0)
        model.encoder.fusion_gate.fill_(1.0)


def test_config_follows_the_backbone_and_needs_one():
    backbone = BlenderbotSmallConfig(vocab_size=50, d_model=16, decoder_attention_heads=4, decoder_ffn_dim=24, max_position_embeddings=64)
    config = CaseBlenderbotConfig(backbone=backbone.to_dict())
    assert (config.d_model, config.num_heads, config.ffn_dim, config.vocab_size, config.max_position_embeddings) == (16, 4, 24, 50, 64)
    assert (config.pad_token_id, config.eos_token_id, config.cls_token_id, config.decoder_start_token_id) == (0, 2, 1, 1)
    assert "AutoModel" not in (getattr(config, "auto_map", None) or {})  # no bare model
    with pytest.raises(ValueError, match="from_backbone"):
        CaseBlenderbotConfig()


def test_subword_vertices_keep_state_intensity_and_concept_edges(featurizer, tokenizer):
    features, _ = featurizer.encode_graph(["The birthday party was fun."])
    pieces = tokenizer.convert_ids_to_tokens(features["input_ids"])
    b = pieces.index("birth")
    assert pieces[b + 1] == "##day" and features["emotion_intensity"][b] == features["emotion_intensity"][b + 1] > 0
    assert features["dialogue_state_ids"][b] == features["dialogue_state_ids"][b + 1] == 0
    concepts = [i for i, s in enumerate(features["dialogue_state_ids"]) if s == CONCEPT_STATE]
    assert [pieces[i] for i in concepts] == ["cake"]  # "birthday" is in the dialogue already
    assert features["concept_sources"][concepts[0]] == pieces.index("party")
    assert pieces[0] == "__start__"  # [CLS] = BOS for BlenderBot-small
    assert featurizer.encode_target("Happy birthday!")[-1] == tokenizer.eos_token_id


def test_new_parts_start_as_a_no_op_on_the_pretrained_backbone(blenderbot, featurizer):
    model, batch = make_model(blenderbot), _training_batch(featurizer)
    backbone = BlenderbotSmallForConditionalGeneration.from_pretrained(blenderbot).eval()
    context_mask = batch["dialogue_state_ids"].ne(CONCEPT_STATE) & batch["attention_mask"].bool()
    with torch.no_grad():
        ours = model(**batch).logits
        plain = backbone(input_ids=batch["input_ids"], attention_mask=context_mask.long(), labels=batch["labels"].clamp_min(0)).logits
    torch.testing.assert_close(ours, plain.log_softmax(-1))
    _open_gates(model)
    with torch.no_grad():
        assert not torch.allclose(model(**batch).logits, ours)


def test_from_backbone_copies_the_pretrained_weights(blenderbot):
    model = make_model(blenderbot)
    pretrained = BlenderbotSmallForConditionalGeneration.from_pretrained(blenderbot)
    for name, value in pretrained.state_dict().items():
        assert torch.equal(model.backbone.state_dict()[name], value), name


def test_loss_is_the_weighted_sum_of_every_term_and_reaches_every_part(blenderbot, featurizer):
    model = make_model(blenderbot).train()
    outputs = model(**_training_batch(featurizer))
    terms = _terms(outputs)
    assert set(terms) == set(WEIGHTS)
    assert float(outputs.loss) == pytest.approx(sum(WEIGHTS[k] * v for k, v in terms.items()), rel=1e-5)
    outputs.loss.backward()
    assert model.encoder.cognition_graph[0].attention.relations.weight.grad.abs().sum() > 0
    assert model.knowledge_attention[0][0].gate.grad.abs() > 0 and model.knowledge_attention[1][1].gate.grad.abs() > 0
    assert model.encoder.fusion_gate.grad.abs() > 0
    assert model.backbone.model.encoder.layers[0].self_attn.q_proj.weight.grad.abs().sum() > 0  # S_X from the backbone
    assert model.token_frequency.sum() > 0


@pytest.mark.parametrize(
    ("flags", "dropped"),
    [({"use_alignment": False}, {"bow_loss", "kl_loss", "coarse_loss", "fine_loss"}), ({"use_coarse_alignment": False}, {"coarse_loss"}),
     ({"use_fine_alignment": False}, {"fine_loss"}), ({"diversity_loss_weight": 0.0}, {"diversity_loss"})],
)  # fmt: skip
def test_ablations_drop_exactly_their_terms(blenderbot, featurizer, flags, dropped):
    model = make_model(blenderbot, **flags).train()
    assert set(_terms(model(**_training_batch(featurizer)))) == set(WEIGHTS) - dropped


def test_graph_ablation_skips_the_graph_encoders(blenderbot, featurizer):
    model = make_model(blenderbot, use_cognition_graph=False, use_concept_graph=False).train()
    model(**_training_batch(featurizer)).loss.backward()
    assert all(p.grad is None for p in model.encoder.cognition_graph.parameters())
    assert all(p.grad is None for p in model.encoder.concept_graph.parameters())


def test_bow_phase_trains_the_bow_loss_alone(blenderbot, featurizer):
    model = make_model(blenderbot).train()
    model.bow_pretraining = True
    outputs = model(**_training_batch(featurizer))
    assert float(outputs.loss) == pytest.approx(float(outputs.bow_loss)) and outputs.generation_loss is None
    outputs.loss.backward()
    assert model.backbone.model.decoder.layers[0].self_attn.q_proj.weight.grad is None
    assert model.bow_head[0].weight.grad.abs().sum() > 0


def test_batched_cached_generation_equals_one_at_a_time(blenderbot, featurizer):
    model = make_model(blenderbot)
    _open_gates(model)
    assert_batched_cached_generation_equals_one_at_a_time(model, featurizer)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, blenderbot, tokenizer, featurizer):
    folder = tmp_path_factory.mktemp("case_blenderbot") / "tiny"
    model = make_model(blenderbot)
    _open_gates(model)
    model.token_frequency += torch.arange(model.config.vocab_size, dtype=torch.float)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    featurizer.save_pretrained(folder)
    return folder


def test_save_load_round_trip(checkpoint, blenderbot, featurizer, tokenizer):
    model = AutoModelForSeq2SeqLM.from_pretrained(checkpoint).eval()
    assert isinstance(model, CaseBlenderbotForConditionalGeneration)
    assert torch.equal(model.token_frequency, torch.arange(model.config.vocab_size, dtype=torch.float))
    assert float(model.knowledge_attention[0][0].gate) == 1.0
    reference = make_model(blenderbot)
    _open_gates(reference)
    batch = featurizer.encode_dialogues(DIALOGUES)
    with torch.no_grad():
        assert torch.equal(model.generate(**batch, max_new_tokens=5), reference.generate(**batch, max_new_tokens=5))
    assert (checkpoint / KNOWLEDGE_FILE).is_file() and (checkpoint / FEATURIZER_CONFIG).is_file()
    loaded = featurizer_for("case_blenderbot", tokenizer, checkpoint=checkpoint)
    assert isinstance(loaded, CaseBlenderbotFeaturizer) and loaded.max_concepts == 3
    served = loaded.encode_dialogues(DIALOGUES)  # the saved commonsense gives the same inputs
    assert served.keys() == batch.keys() and all(torch.equal(served[k], batch[k]) for k in batch)
    _, _, from_folder = load_checkpoint(str(checkpoint), "cpu")
    responses, emotions = generate_responses(model, from_folder, DIALOGUES, batch_size=2, progress=False, max_new_tokens=5)
    assert len(responses) == 3 and all(e in model.config.label2id for e in emotions)


def test_trust_remote_code_loads_case_blenderbot_without_the_package(checkpoint, featurizer, tmp_path):
    batch = featurizer.encode_dialogues(DIALOGUES)
    with torch.no_grad():
        expected = AutoModelForSeq2SeqLM.from_pretrained(checkpoint).eval().generate(**batch)
    child = generate_without_the_package(checkpoint, batch, tmp_path)
    assert child["module"].startswith("transformers_modules") and child["tokens"] == expected.tolist()


@pytest.mark.skipif(not (CN4.is_file() and NRC_VAD.is_file()), reason="shared ConceptNet / NRC-VAD absent")
@pytest.mark.parametrize("backbone_flag", ["--model_name_or_path", "--warm_start_encoder"])
def test_case_blenderbot_trains_from_a_backbone_and_saves_complete_checkpoints(tmp_path, blenderbot, tiny_cause_encoder, backbone_flag):
    from empathetic_models.training.train import main

    atomic = tmp_path / "atomic.tsv"
    atomic.write_text("".join(f"{h}\t{r}\t{t}\n" for h, r, t in TRIPLES))
    out = tmp_path / "case_blenderbot"
    backbone = str(blenderbot) if backbone_flag == "--model_name_or_path" else str(tiny_cause_encoder)
    info = main([
        "sample", "--model_type", "case_blenderbot", backbone_flag, backbone, "--output_dir", str(out), "--conceptnet", str(CN4), "--vad_lexicon", str(NRC_VAD),
        "--atomic", str(atomic), "--commonsense_encoder", str(tiny_cause_encoder), "--knowledge_cache_dir", str(tmp_path / "cache"),
        "--bow_pretraining_steps", "1", "--max_steps", "3", "--logging_steps", "1", "--eval_strategy", "no", "--save_strategy", "steps",
        "--save_steps", "3", "--load_best_model_at_end", "false", "--max_train_samples", "24", "--max_test_samples", "4",
        "--per_device_train_batch_size", "4", "--use_cpu", "true",
    ])  # fmt: skip
    assert info["global_step"] == 3 and info["embedding_init"].startswith(f"backbone: {backbone}")
    logs = [h for h in json.loads((out / "trainer_state.json").read_text())["log_history"] if "loss" in h]
    assert "generation_loss" not in logs[0] and {"generation_loss", "fine_loss"} <= logs[-1].keys()
    for folder in (out, out / "checkpoint-3"):
        assert (folder / KNOWLEDGE_FILE).is_file() and (folder / FEATURIZER_CONFIG).is_file() and (folder / "commonsense").is_dir()
    reloaded = AutoModelForSeq2SeqLM.from_pretrained(out)
    assert reloaded.config.model_type == "case_blenderbot"
    results = json.loads((out / "results" / "test_results.json").read_text())
    assert results["model_type"] == "case_blenderbot" and results["num_examples"] == 4
    assert "CASE-BlenderBot" in (out / "README.md").read_text()


def test_recipe_names_the_paper_backbone_and_takes_the_offline_one():
    from empathetic_models.training.train import parse_args

    model_args, _, _, training_args = parse_args(["case_blenderbot", "--output_dir", "x"])
    assert (model_args.model_type, model_args.model_name_or_path) == ("case_blenderbot", "facebook/blenderbot_small-90M")
    assert json.loads(model_args.model_config)["max_concepts"] == 10 and training_args.per_device_train_batch_size == 16
    model_args, *_ = parse_args(["case_blenderbot", "--model_name_or_path", "", "--warm_start_encoder", "minilm", "--output_dir", "x"])
    assert (model_args.model_name_or_path, model_args.warm_start_encoder) == ("", "minilm")


def test_contract_gradient_checkpointing_matches_with_the_knowledge_attentions_open(blenderbot, featurizer):
    # the knowledge attentions read memory set for one forward inside the backbone's layers: each checkpoint's
    # recompute runs with the memory of its forward (it was refused before)
    from contract import assert_gradient_checkpointing_matches

    model = make_model(blenderbot)
    _open_gates(model)
    assert_gradient_checkpointing_matches(model, _training_batch(featurizer))


def test_contract_unsupported_outputs_are_refused(blenderbot, featurizer):
    from contract import assert_unsupported_outputs_are_refused

    assert_unsupported_outputs_are_refused(make_model(blenderbot), _training_batch(featurizer))


def test_attn_implementation_reaches_the_backbone(checkpoint):
    from transformers import AutoModelForSeq2SeqLM

    for implementation in ("eager", "sdpa"):
        model = AutoModelForSeq2SeqLM.from_pretrained(checkpoint, attn_implementation=implementation)
        assert model.backbone.config._attn_implementation == implementation
        assert model.backbone.get_decoder().config._attn_implementation == implementation


def test_contract_resize_then_one_training_step_and_reload(blenderbot, featurizer, tmp_path):
    from contract import assert_resize_then_one_training_step, assert_resized_model_reloads

    model = make_model(blenderbot)
    assert_resize_then_one_training_step(model, _training_batch(featurizer))
    assert model.encoder.embed_tokens is model.backbone.get_input_embeddings()
    assert_resized_model_reloads(model, tmp_path / "resized")
