"""KEMP (modeling/modeling_kemp.py) and its featurizer: graph construction, copy distribution, loss terms,
ablations, checkpoints with their retrieval table, trust_remote_code, batched generation and training."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import TINY_CONFIG
from transformers import AutoConfig, AutoModel, AutoModelForSeq2SeqLM

from empathetic_models.featurization import (
    CONCEPT_STATE,
    KempFeaturizer,
    featurizer_for,
)
from empathetic_models.inference import generate_responses, load_checkpoint
from empathetic_models.knowledge import (
    KNOWLEDGE_FILE,
    ConceptIndex,
    ConceptRetriever,
    Edge,
    VADLexicon,
)
from empathetic_models.text import word_tokenize
from empathetic_models.modeling.modeling_kemp import (
    KempForConditionalGeneration,
    KempModel,
    emotional_context_graph,
)
from remote_code import generate_without_the_package

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
DIALOGUES = [
    ["My exam is tomorrow and I am nervous."],
    ["It was my birthday party yesterday!", "Happy birthday! Did you get a cake?", "Yes, and a gift from my sister."],
    ["I lost my job today."],
]


@pytest.fixture(scope="module")
def retriever(tmp_path_factory, word_tokenizer):
    return make_retriever(tmp_path_factory.mktemp("vad"), word_tokenizer)


def make_retriever(folder, word_tokenizer) -> ConceptRetriever:
    """ConceptNet edges and VAD rows by hand for the exam / birthday dialogues (the lexicon written under ``folder``)."""
    lexicon_path = folder / "vad.txt"
    rows = {"nervous": (0.2, 0.9), "scared": (0.1, 0.85), "grade": (0.5, 0.5), "party": (0.9, 0.8), "cake": (0.8, 0.4),
            "gift": (0.9, 0.5), "happy": (1.0, 0.7), "calm": (0.5, 0.0)}  # fmt: skip
    lexicon_path.write_text("Word\tValence\tArousal\tDominance\n" + "".join(f"{w}\t{v}\t{a}\t0.5\n" for w, (v, a) in rows.items()))
    edges = {
        "exam": [Edge("Causes", "scared", 1.0), Edge("RelatedTo", "grade", 1.0), Edge("Causes", "nervous", 1.0)],
        "birthday": [Edge("RelatedTo", "party", 1.0), Edge("HasA", "cake", 1.0), Edge("HasA", "gift", 1.0)],
    }
    return ConceptRetriever(ConceptIndex(edges, "hand-made"), VADLexicon.from_file(lexicon_path), vocabulary=word_tokenizer.get_vocab())


@pytest.fixture(scope="module")
def featurizer(word_tokenizer, retriever):
    return KempFeaturizer(word_tokenizer, retriever, max_source_length=64)


def make_kemp(tokenizer, seed: int = 0, **overrides) -> KempForConditionalGeneration:
    config = AutoConfig.for_model("kemp", **{"vocab_size": len(tokenizer), **TINY_CONFIG, **overrides})
    torch.manual_seed(seed)
    return AutoModelForSeq2SeqLM.from_config(config).eval()


def make_kemp_sized(**sizes) -> KempForConditionalGeneration:
    return AutoModelForSeq2SeqLM.from_config(AutoConfig.for_model("kemp", **{**TINY_CONFIG, **sizes})).eval()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, word_tokenizer, featurizer):
    folder = tmp_path_factory.mktemp("kemp") / "tiny_kemp"
    make_kemp(word_tokenizer).save_pretrained(folder)
    word_tokenizer.save_pretrained(folder)
    featurizer.save_pretrained(folder)
    return folder


def _inputs(batch: dict) -> dict:
    return {k: v for k, v in batch.items() if k not in ("labels", "emotion_labels")}


# --- featurizer and graph ----------------------------------------------------------------------------------


def test_featurizer_builds_graph_vertices(featurizer, word_tokenizer, retriever):
    features, truncated = featurizer.encode_graph(DIALOGUES[0])
    tokens = word_tokenizer.convert_ids_to_tokens(features["input_ids"])
    words = ["my", "exam", "is", "tomorrow", "and", "i", "am", "nervous", "."]
    # exam's concepts by emotion intensity; "nervous" is already in the dialogue, so not added again
    assert not truncated and tokens == ["[CLS]", *words, "scared", "grade"]
    assert features["dialogue_state_ids"] == [0] * 10 + [CONCEPT_STATE] * 2
    assert features["concept_sources"] == [-1] * 10 + [2, 2]  # vertex 2 = "exam"
    eta = features["emotion_intensity"]
    assert eta[0] == 0.0 and eta[-1] == retriever.intensity("grade")
    assert eta[8] == pytest.approx(retriever.intensity("nervous")) and eta[8] > 0


def test_annotated_columns_give_the_same_features_as_retrieval(featurizer, retriever):
    batch = {"context": [DIALOGUES[1]], "context_roles": [["speaker", "listener", "speaker"]], "target": ["Nice!"], "emotion": [16]}
    direct = featurizer(batch)
    words = [w for u in DIALOGUES[1] for w in word_tokenize(u)]
    concepts, sources, intensities = retriever.retrieve(words)
    annotated = featurizer({**batch, "concepts": [concepts], "concept_sources": [sources], "concept_intensities": [intensities]})
    assert direct == annotated and direct["dialogue_state_ids"][0].count(1) > 0  # listener words are marked


def test_long_histories_keep_recent_words_and_room_for_concepts(word_tokenizer, retriever):
    featurizer = KempFeaturizer(word_tokenizer, retriever, max_source_length=16)  # 16 − [CLS] − 10 concepts = 5 words
    features, truncated = featurizer.encode_graph(["I went to the park and then my exam came"])
    assert truncated and len(features["input_ids"]) <= 16
    tokens = word_tokenizer.convert_ids_to_tokens(features["input_ids"])
    assert tokens[1:6] == ["and", "then", "my", "exam", "came"] and tokens[6:] == ["scared", "nervous", "grade"]
    assert features["concept_sources"][6:] == [4, 4, 4]
    with pytest.raises(ValueError, match="leaves no room"):
        KempFeaturizer(word_tokenizer, retriever, max_source_length=11)


def test_graph_edges_on_a_hand_made_dialogue():
    # vertices: 0 [CLS], 1-3 words, 4-5 concepts of word 2, 6 padding
    mask = torch.tensor([[1, 1, 1, 1, 1, 1, 0]])
    states = torch.tensor([[0, 0, 1, 1, 2, 2, 0]])
    sources = torch.tensor([[-1, -1, -1, -1, 2, 2, -1]])
    a = emotional_context_graph(mask, states, sources)[0]
    edges = {(i, j) for i in range(7) for j in range(7) if a[i, j]}
    temporary = {(1, 2), (2, 1), (2, 3), (3, 2)}
    emotion = {(4, 2), (2, 4), (5, 2), (2, 5)}
    globality = {(0, j) for j in range(6)} | {(j, 0) for j in range(6)}
    assert edges == temporary | emotion | globality | {(6, 6)}  # padding sees only itself
    assert not a[4, 5] and not a[1, 3] and not a[4, 3]  # concepts of one word are not linked to each other


def test_retrieval_table_round_trips_and_missing_file_is_named(tmp_path, retriever, word_tokenizer):
    path = tmp_path / KNOWLEDGE_FILE
    retriever.save(path)
    loaded = ConceptRetriever.load(path)
    assert loaded.top == retriever.top and loaded.intensities == retriever.intensities and loaded.fingerprint == retriever.fingerprint
    with pytest.raises(FileNotFoundError, match="no such checkpoint folder"):
        featurizer_for("kemp", word_tokenizer, checkpoint=tmp_path / "elsewhere")
    (tmp_path / "partial").mkdir()
    (tmp_path / "partial" / "featurizer_config.json").write_text('{"featurizer_type": "kemp", "settings": {}, "resources": {"concepts": "%s"}}' % KNOWLEDGE_FILE)
    with pytest.raises(FileNotFoundError, match=f"has no {KNOWLEDGE_FILE}"):
        featurizer_for("kemp", word_tokenizer, checkpoint=tmp_path / "partial")
    with pytest.raises(ValueError, match="retrieval table"):
        featurizer_for("kemp", word_tokenizer)


# --- model -------------------------------------------------------------------------------------------------


def test_copy_distribution_sums_to_one_and_copies_graph_words(featurizer, word_tokenizer):
    model = make_kemp(word_tokenizer)
    batch = featurizer.pad([featurizer.encode_graph(d)[0] for d in DIALOGUES])
    labels = batch["input_ids"][:, 1:6].clone()
    with torch.no_grad():
        out = model(**batch, labels=labels)
        assert torch.allclose(out.logits.exp().sum(-1), torch.ones(labels.shape), atol=1e-5)  # eq. 19 is a distribution
        assert torch.allclose(out.graph_attention.sum(-1), torch.ones(labels.shape), atol=1e-5)
        assert out.graph_attention[0, :, batch["attention_mask"][0].eq(0)].abs().max() == 0  # padding gets no attention
        model.copy_gate.bias.fill_(-30.0)  # p_gen → 0: the output is the copy distribution alone
        copied = model(**batch, labels=labels)
    probs = copied.logits.exp()
    vertex_ids = batch["input_ids"]
    expected = torch.zeros_like(probs).scatter_add_(-1, vertex_ids[:, None].expand(-1, probs.shape[1], -1), copied.graph_attention)
    assert torch.allclose(probs, expected, atol=1e-5)
    assert probs[0, 0, vertex_ids[0, 2]] > 0 and probs[0, 0, word_tokenizer.convert_tokens_to_ids("cake")] < 1e-8


def test_copy_gradient_counts_a_repeated_graph_word_once():
    """The log-space eq. 19 has the gradients of the officials' probability-space scatter_add, also for a word that
    occurs several times among the vertices (each occurrence used to carry the whole gradient of the copy mass)."""
    torch.manual_seed(0)
    model = make_kemp_sized(vocab_size=12)
    vertex_ids = torch.tensor([[1, 5, 5, 7, 5, 0], [2, 3, 4, 3, 9, 9]])  # word 5 three times, 3 and 9 twice
    labels = torch.tensor([[5, 7, 11], [3, 9, 2]])
    hidden = torch.randn(2, 3, model.config.d_model, requires_grad=True)
    scores = torch.randn(2, 3, 6, requires_grad=True)

    def nll(log_probs):
        return -log_probs.gather(-1, labels[..., None]).sum()

    attention = scores.softmax(-1)
    log_probs, _ = model.output_distribution(hidden, attention, vertex_ids)
    ours = torch.autograd.grad(nll(log_probs), (hidden, scores))
    p_gen = torch.sigmoid(model.copy_gate(hidden))
    copy = torch.zeros(2, 3, 12).scatter_add(-1, vertex_ids[:, None].expand(-1, 3, -1), scores.softmax(-1))
    reference = torch.autograd.grad(nll((p_gen * model.lm_head(hidden).softmax(-1) + (1 - p_gen) * copy).log()), (hidden, scores))
    for got, expected in zip(ours, reference):
        assert torch.allclose(got, expected, atol=1e-5), (got - expected).abs().max()


def test_loss_is_eq21_of_its_terms_and_every_term_is_returned(featurizer, word_tokenizer):
    model = make_kemp(word_tokenizer, attention_loss_weight=0.1).train()
    batch = featurizer.pad([featurizer.encode_graph(d)[0] for d in DIALOGUES])
    batch["labels"] = torch.tensor([[5, 6, 7, 3], [8, 3, -100, -100], [9, 10, 3, -100]])
    batch["emotion_labels"] = torch.tensor([0, 1, 2])
    out = model(**batch)
    assert out.loss.item() == pytest.approx((out.emotion_loss + out.generation_loss + 0.1 * out.attention_loss).item(), rel=1e-6)
    assert out.attention_loss > 0 and out.emotion_logits.shape == (3, 32)
    assert out.logits is None and out.copy_gate is None  # training projects the response tokens only
    assert model.eval()(**batch).copy_gate.shape == (3, 4, 1)
    model.train()
    out.loss.backward()
    assert model.model.decoder.emotion_input.weight.grad.abs().sum() > 0  # e'_p feeds the decoder (EDD)
    assert model.model.encoder.graph_attention.q_proj.weight.grad.abs().sum() > 0


def test_training_loss_on_response_tokens_only_equals_the_full_distributions(featurizer, word_tokenizer):
    # the training path projects eq. 19 at the response tokens alone; by hand from the eval path's full (B, T, V)
    # log-probabilities, with label smoothing as cross_entropy has it, the loss is the same
    model = make_kemp(word_tokenizer, label_smoothing=0.1)
    batch = featurizer.pad([featurizer.encode_graph(d)[0] for d in DIALOGUES])
    batch["labels"] = torch.tensor([[5, 6, 7, 3], [8, 3, -100, -100], [9, 10, 3, -100]])
    fast = model.train()(**batch).generation_loss
    log_probs = model.eval()(**batch).logits
    steps = batch["labels"].ne(-100)
    nll = -log_probs.gather(-1, batch["labels"].clamp_min(0)[..., None]).squeeze(-1)
    smoothed = 0.9 * nll - 0.1 * log_probs.mean(-1)
    assert fast.item() == pytest.approx((smoothed[steps]).mean().item(), rel=1e-6)


def test_ablation_without_edd_drops_the_emotion_dependency(featurizer, word_tokenizer):
    model = make_kemp(word_tokenizer, use_emotion_dependency=False)
    assert model.model.decoder.emotion_input is None and model.model.decoder.layers[0].emotional_features is None
    batch = featurizer.pad([featurizer.encode_graph(d)[0] for d in DIALOGUES])
    out = model(**batch, labels=batch["input_ids"][:, 1:3])
    assert out.attention_loss is None and out.loss.item() == pytest.approx(out.generation_loss.item())


def test_ablation_without_ece_ignores_concepts_and_intensities(featurizer, word_tokenizer):
    model = make_kemp(word_tokenizer, use_emotional_knowledge=False)
    full = featurizer.pad([featurizer.encode_graph(DIALOGUES[0])[0]])
    words_only = {k: v[:, :10] for k, v in full.items()}  # drop the two concept vertices
    labels = torch.tensor([[5, 6, 3]])
    with torch.no_grad():
        with_concepts = model(**full, labels=labels)
        without = model(**words_only, labels=labels)
        other_eta = model(**{**words_only, "emotion_intensity": torch.rand(1, 10)}, labels=labels)
    assert torch.allclose(with_concepts.emotion_logits, without.emotion_logits, atol=1e-5)
    assert torch.allclose(with_concepts.generation_loss, without.generation_loss, atol=1e-5)
    assert torch.allclose(other_eta.emotion_logits, without.emotion_logits, atol=1e-6)
    normal = make_kemp(word_tokenizer)
    with torch.no_grad():
        assert not torch.allclose(normal(**full, labels=labels).emotion_logits, normal(**words_only, labels=labels).emotion_logits)


def test_batched_cached_generation_matches_single_uncached(featurizer, word_tokenizer):
    model = make_kemp(word_tokenizer)
    batch = featurizer.encode_dialogues(DIALOGUES)
    with torch.no_grad():
        batched = model.generate(**batch, max_new_tokens=8)
        for i, dialogue in enumerate(DIALOGUES):
            single = model.generate(**featurizer.encode_dialogues([dialogue]), max_new_tokens=8, use_cache=False)
            n = single.shape[1]
            assert batched[i, :n].tolist() == single[0].tolist()
        beams = model.generate(**batch, max_new_tokens=8, num_beams=3)
    assert beams.shape[0] == 3


def test_save_load_round_trip_and_inference_from_the_folder(checkpoint, featurizer, word_tokenizer):
    model, _, loaded_featurizer = load_checkpoint(checkpoint, device="cpu", max_source_length=64)
    assert isinstance(model, KempForConditionalGeneration) and isinstance(loaded_featurizer, KempFeaturizer)
    assert loaded_featurizer.retriever.top == featurizer.retriever.top
    assert isinstance(AutoModel.from_pretrained(checkpoint), KempModel)
    reference = make_kemp(word_tokenizer)
    batch = featurizer.encode_dialogues(DIALOGUES)
    with torch.no_grad():
        assert torch.equal(model.generate(**batch), reference.generate(**batch))
    responses, emotions = generate_responses(model, loaded_featurizer, DIALOGUES, batch_size=2, progress=False)
    assert len(responses) == 3 and all(e in model.config.label2id for e in emotions)


def test_pipeline_serves_a_kemp_checkpoint(checkpoint):
    from transformers import pipeline

    chat = pipeline("empathetic-response", model=str(checkpoint))
    results = chat([DIALOGUES[0], DIALOGUES[1]], batch_size=2, max_new_tokens=5)
    assert len(results) == 2 and all(r["emotion"] in chat.model.config.label2id for r in results)
    assert chat(DIALOGUES[2], max_new_tokens=5) == chat([DIALOGUES[2]], max_new_tokens=5)[0]



def test_trust_remote_code_loads_kemp_without_the_package(checkpoint, featurizer, word_tokenizer, tmp_path):
    batch = featurizer.encode_dialogues(DIALOGUES)
    with torch.no_grad():
        expected = make_kemp(word_tokenizer).generate(**batch)
    child = generate_without_the_package(checkpoint, batch, tmp_path)
    assert child["module"].startswith("transformers_modules") and child["tokens"] == expected.tolist()


# --- training ----------------------------------------------------------------------------------------------

CN4, NRC_VAD = SHARED / "conceptnet" / "conceptnet4_en.tsv.gz", SHARED / "nrc_vad" / "NRC-VAD-Lexicon.txt"


def test_kemp_recipe_requires_its_knowledge_resources(tmp_path):
    from empathetic_models.training.train import main

    with pytest.raises(SystemExit, match="--conceptnet"):
        main(["kemp", "--data_source", "sample", "--output_dir", str(tmp_path), "--conceptnet", "", "--vad_lexicon", ""])


@pytest.mark.skipif(not (CN4.is_file() and NRC_VAD.is_file()), reason="shared ConceptNet / NRC-VAD absent")
def test_kemp_trains_with_real_knowledge_and_every_checkpoint_is_complete(tmp_path):
    from empathetic_models.training.train import main

    out = tmp_path / "kemp"
    info = main([
        "kemp", "--data_source", "sample", "--split_style", "full", "--output_dir", str(out),
        "--conceptnet", str(CN4), "--vad_lexicon", str(NRC_VAD), "--knowledge_cache_dir", str(tmp_path / "cache"),
        "--model_config", '{"d_model": 32, "attention_dim": 8, "ffn_dim": 16}', "--max_steps", "4",
        "--eval_strategy", "steps", "--eval_steps", "2", "--save_steps", "2", "--logging_steps", "1",
        "--warmup_steps", "1", "--max_test_samples", "8", "--use_cpu", "true",
    ])  # fmt: skip
    assert info["global_step"] == 4 and "ConceptNet 4" in info["knowledge_source"] and info["embedding_init"] == "random"
    history = json.loads((out / "trainer_state.json").read_text())["log_history"]
    train_logs = [h for h in history if "loss" in h and "eval_loss" not in h]
    config = json.loads((out / "config.json").read_text())
    gamma = [config[f"{term}_loss_weight"] for term in ("emotion", "generation", "attention")]
    assert gamma == [0.07, 1.0, 0.1]  # the recipe's γ1 (rescaled to a token-mean NLL), γ2, γ3
    for log in train_logs:  # eq. 21
        terms = [log["emotion_loss"], log["generation_loss"], log["attention_loss"]]
        assert log["loss"] == pytest.approx(sum(g * t for g, t in zip(gamma, terms)), abs=0.02)
    assert "eval_attention_loss" in [h for h in history if "eval_loss" in h][-1]
    for folder in (out, out / "checkpoint-2", out / "checkpoint-4"):
        assert (folder / KNOWLEDGE_FILE).is_file(), folder
    results = json.loads((out / "results" / "test_results.json").read_text())
    assert results["model_type"] == "kemp" and "emotion_accuracy" in results["metrics"]
    card = (out / "README.md").read_text()
    assert "KEMP" in card and "ConceptNet 4" in card and "kemp_knowledge.json.gz" in card


def test_glove_initialisation_reaches_encoder_decoder_and_output_layer(word_tokenizer, tmp_path):
    from empathetic_models.embeddings import load_glove_embeddings

    model = make_kemp(word_tokenizer)
    dim = model.config.d_model
    vector = [round(0.01 * i, 2) for i in range(dim)]
    path = tmp_path / "glove.txt"
    path.write_text(f"exam {' '.join(map(str, vector))}\n")
    load_glove_embeddings(path, word_tokenizer, model)
    exam = torch.tensor([word_tokenizer.convert_tokens_to_ids("exam")])
    for embed in (model.model.encoder.embed_tokens, model.model.decoder.embed_tokens):
        assert torch.allclose(embed(exam)[0], torch.tensor(vector), atol=1e-6)
    assert model.lm_head.weight.data_ptr() == model.model.shared.weight.data_ptr()  # W_v tied to the embeddings
    untied = make_kemp(word_tokenizer, tie_word_embeddings=False)  # the recipe's: W_v its own matrix, as KEMP's Generator
    assert untied.lm_head.weight.data_ptr() != untied.model.shared.weight.data_ptr()


def test_one_at_a_time_reference_decoder_agrees_with_batched_greedy(featurizer, word_tokenizer):
    from empathetic_models.training.benchmark import decode_one_at_a_time

    model = make_kemp(word_tokenizer)
    batched, _ = generate_responses(model, featurizer, DIALOGUES, batch_size=3, progress=False, max_new_tokens=8)
    assert decode_one_at_a_time(model, featurizer, DIALOGUES, max_new_tokens=8) == batched


def test_contract_half_precision_and_resize(featurizer, word_tokenizer, tmp_path):
    from contract import assert_gradient_checkpointing_matches, assert_unsupported_outputs_are_refused, assert_static_cache_generates_as_the_dynamic_one, assert_missing_shared_embedding_is_reported_and_initialised, assert_return_dict_false_gives_the_tuple, assert_half_precision_loads_and_runs, assert_resize_then_one_training_step

    batch = featurizer.pad([featurizer.encode_graph(d)[0] for d in DIALOGUES])
    batch["labels"] = torch.tensor([[5, 6, 7, 3], [8, 3, -100, -100], [9, 10, 3, -100]])
    batch["emotion_labels"] = torch.tensor([0, 1, 2])
    assert_half_precision_loads_and_runs(make_kemp(word_tokenizer), batch, tmp_path)
    assert_return_dict_false_gives_the_tuple(make_kemp(word_tokenizer), batch)
    assert_gradient_checkpointing_matches(make_kemp(word_tokenizer), batch)
    assert_unsupported_outputs_are_refused(make_kemp(word_tokenizer), batch)
    assert_static_cache_generates_as_the_dynamic_one(make_kemp(word_tokenizer), batch)
    assert_missing_shared_embedding_is_reported_and_initialised(make_kemp(word_tokenizer), batch, tmp_path / "no_embedding")
    assert_resize_then_one_training_step(make_kemp(word_tokenizer), batch)
