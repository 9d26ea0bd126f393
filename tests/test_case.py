"""CASE: the two graphs, the relation-enhanced attention, the featurizer, every loss term and ablation, the
L_BOW phase, save/load, trust_remote_code, batched generation and a training run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from conftest import TINY_CONFIG
from transformers import AutoConfig, AutoModelForSeq2SeqLM

from empathetic_models.data import load_empathetic_dialogues
from empathetic_models.featurization import FEATURIZER_CONFIG, CaseFeaturizer, featurizer_for
from empathetic_models.knowledge.commonsense import ATOMIC_FILE
from empathetic_models.inference import generate_responses, load_checkpoint
from empathetic_models.knowledge import KNOWLEDGE_FILE, AtomicRetriever, ConceptIndex, ConceptRetriever, Edge, SentenceEncoder, VADLexicon
from empathetic_models.knowledge.retrieval import RetrievalConfig
from empathetic_models.modeling.graphs import (
    GLOBAL,
    KNOWLEDGE,
    SELF_LOOP,
    SUB_UTTERANCE,
    TEMPORARY,
    UTTERANCE,
    RelationEnhancedAttention,
    cognition_graph,
    emotional_context_graph,
)
from empathetic_models.modeling.modeling_case import knowledge_kl
from remote_code import generate_without_the_package

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
CN4, NRC_VAD = SHARED / "conceptnet" / "conceptnet4_en.tsv.gz", SHARED / "nrc_vad" / "NRC-VAD-Lexicon.txt"
DIALOGUES = [
    ["My exam is tomorrow and I am nervous. I did not study."],
    ["It was my birthday party yesterday!", "Happy birthday! Did you get a cake?", "Yes, and a gift from my sister."],
    ["I lost my job today."],
]
TRIPLES = [
    ("PersonX has an exam", "xIntent", "to pass"), ("PersonX has an exam", "xNeed", "to study"),
    ("PersonX has an exam", "xWant", "to relax"), ("PersonX has an exam", "xEffect", "gets a grade"),
    ("PersonX has an exam", "xReact", "nervous"), ("PersonX throws a party", "xReact", "happy"),
    ("PersonX throws a party", "xIntent", "to have fun"), ("PersonX loses PersonX's job", "xReact", "sad"),
    ("PersonX loses PersonX's job", "xWant", "to find a new job"), ("PersonX loses PersonX's job", "xNeed", "to work"),
    ("PersonX loses PersonX's job", "xEffect", "cries"),
]  # fmt: skip


@pytest.fixture(scope="module")
def retriever(tmp_path_factory, word_tokenizer):
    return make_retriever(tmp_path_factory.mktemp("vad"), word_tokenizer)


def make_retriever(folder, word_tokenizer) -> ConceptRetriever:
    """ConceptNet edges and VAD rows by hand (the lexicon written under ``folder``)."""
    lexicon = folder / "vad.txt"
    rows = {"nervous": 0.9, "scared": 0.85, "grade": 0.5, "party": 0.8, "cake": 0.4, "gift": 0.5, "happy": 0.7, "calm": 0.0}
    lexicon.write_text("Word\tValence\tArousal\tDominance\n" + "".join(f"{w}\t0.5\t{a}\t0.5\n" for w, a in rows.items()))
    edges = {
        "exam": [Edge("Causes", "scared", 1.0), Edge("RelatedTo", "grade", 1.0), Edge("Causes", "nervous", 1.0)],
        "birthday": [Edge("RelatedTo", "party", 1.0), Edge("HasA", "cake", 1.0), Edge("HasA", "gift", 1.0)],
    }
    index = ConceptIndex(edges, "hand-made")
    return ConceptRetriever(index, VADLexicon.from_file(lexicon), word_tokenizer.get_vocab(), RetrievalConfig(concepts_per_dialogue=10**6))


def make_commonsense(tiny_cause_encoder) -> AtomicRetriever:
    return AtomicRetriever(TRIPLES, SentenceEncoder.from_pretrained(tiny_cause_encoder, device="cpu"), "test tuples", neighbors=1)


@pytest.fixture(scope="module")
def commonsense(tiny_cause_encoder):
    return make_commonsense(tiny_cause_encoder)


def make_featurizer(word_tokenizer, retriever, commonsense) -> CaseFeaturizer:
    return CaseFeaturizer(word_tokenizer, retriever, commonsense=commonsense, max_concepts=2, inferences_per_relation=2, max_source_length=64)


@pytest.fixture(scope="module")
def featurizer(word_tokenizer, retriever, commonsense):
    return make_featurizer(word_tokenizer, retriever, commonsense)


def make_case(tokenizer, seed: int = 0, **overrides):
    config = AutoConfig.for_model("case", **{"vocab_size": len(tokenizer), **TINY_CONFIG, **overrides})
    torch.manual_seed(seed)
    return AutoModelForSeq2SeqLM.from_config(config).eval()


def _training_batch(featurizer, n: int = 4) -> dict:
    examples = load_empathetic_dialogues("sample")["train"].select(range(n))
    features = featurizer({k: examples[k] for k in examples.column_names})
    return featurizer.pad([{k: features[k][i] for k in features} for i in range(n)])


# --- graphs --------------------------------------------------------------------------------------------------


def test_cognition_graph_of_two_sentences_with_one_inference_per_relation():
    # u0, u1, u2, then for each u_i its xIntent, xNeed, xWant, xEffect inference (l = 1): 3 + 12 = 15 vertices
    types = [UTTERANCE, SUB_UTTERANCE, SUB_UTTERANCE] + [KNOWLEDGE + r for _ in range(3) for r in range(4)]
    owners = [0, 1, 2] + [i for i in range(3) for _ in range(4)]
    relations = cognition_graph(torch.tensor([types]), torch.tensor([owners]))[0]
    assert relations.shape == (15, 15) and torch.equal(relations, relations.T)
    assert relations.diagonal().eq(SELF_LOOP).all()
    expected = {(0, 1): GLOBAL, (0, 2): GLOBAL, (1, 2): TEMPORARY}
    for i in range(3):
        for r in range(4):
            expected[(i, 3 + 4 * i + r)] = 3 + r  # u_i — its relation-r inference
    for a in range(15):
        for b in range(a + 1, 15):
            assert relations[a, b] == expected.get((a, b), -1), (a, b)


def test_concept_graph_edges_on_a_four_token_dialogue():
    # [CLS] w1 w2 w3 w4 c(w2): temporary w_i–w_i+1, global [CLS]–all, emotional w2–c, self-loops, nothing else
    mask, states, sources = torch.ones(1, 6), torch.tensor([[0, 0, 0, 0, 0, 2]]), torch.tensor([[-1, -1, -1, -1, -1, 2]])
    edges = emotional_context_graph(mask, states, sources, self_loops=True)[0]
    expected = {(0, k) for k in range(1, 6)} | {(1, 2), (2, 3), (3, 4), (2, 5)} | {(k, k) for k in range(6)}
    assert {(a, b) for a in range(6) for b in range(a, 6) if edges[a, b]} == expected
    assert torch.equal(edges, edges.T)


def test_relation_enhanced_attention_matches_its_definition():
    torch.manual_seed(0)
    attention = RelationEnhancedAttention(d_model=8, num_heads=2, attention_dim=4, dropout=0.0, num_relations=3)
    vertices = torch.randn(1, 4, 8)
    relations = torch.tensor([[[0, 1, -1, 2], [1, 0, 2, -1], [-1, 2, 0, 1], [2, -1, 1, 0]]])
    out = attention(vertices, relations)
    att, table = attention.attention, attention.relations.weight
    expected = torch.zeros(4, 8)
    for i in range(4):  # q_i = W_q (v_i + l_ik), k_k = W_k (v_k + l_ki), per head, over the edges only
        scores = torch.full((2, 4), float("-inf"))
        for k in range(4):
            if relations[0, i, k] >= 0:
                rel = table[relations[0, i, k]]
                q, key = att.q_proj(vertices[0, i] + rel).view(2, 2), att.k_proj(vertices[0, k] + rel).view(2, 2)
                scores[:, k] = (q * key).sum(-1) / 2**0.5
        values = att.v_proj(vertices[0]).view(4, 2, 2)  # (k, head, d)
        mixed = torch.einsum("hk,khd->hd", scores.softmax(-1), values).reshape(-1)
        expected[i] = att.out_proj(mixed)
    assert torch.allclose(out[0], expected, atol=1e-5)


# --- featurizer ----------------------------------------------------------------------------------------------


def test_sentence_encoding_skips_padding_sequences_and_matches_encoding_each_alone(word_tokenizer):
    encoder = make_case(word_tokenizer).model.encoder
    ids = torch.tensor([[[5, 6, 7, 0, 0], [0, 0, 0, 0, 0]], [[8, 9, 0, 0, 0], [10, 0, 0, 0, 0]]])  # (B 2, N 2, L 5)
    mask = ids.ne(0)
    with torch.no_grad():
        first, mean = (encoder.encode_sentences(ids, mask, encoder.cognition_encoder, pooling) for pooling in ("first", "mean"))
        assert first.shape == mean.shape == (2, 2, encoder.embed_tokens.embedding_dim)
        assert not first[0, 1].any() and not mean[0, 1].any()  # the empty (padding) vertex is not run
        for b, n, length in ((0, 0, 3), (1, 0, 2), (1, 1, 1)):
            alone = encoder.cognition_encoder(encoder.embed(ids[b, n, None, :length]), mask[b, n, None, :length])[0]
            torch.testing.assert_close(first[b, n], alone[0])
            torch.testing.assert_close(mean[b, n], alone.mean(0))


def test_kl_trains_the_prior_towards_a_fixed_posterior():
    posterior = torch.tensor([[0.7, 0.2, 0.1]], requires_grad=True)
    prior_logits = torch.zeros(1, 3, requires_grad=True)
    loss = knowledge_kl(posterior, prior_logits.softmax(-1))
    expected = sum(p * math.log(p / (1 / 3)) for p in (0.7, 0.2, 0.1))
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    loss.backward()
    assert posterior.grad is None and prior_logits.grad.abs().sum() > 0  # the posterior learns from L_BOW only


def test_featurizer_keeps_the_concepts_of_highest_intensity(featurizer, word_tokenizer):
    # birthday → party, cake, gift; exam → nervous, scared, grade; arousal (ω) 0.8, 0.4, 0.5; 0.9, 0.85, 0.5.
    # Left to right (KEMP's cap) would keep birthday's concepts; CASE keeps the N′ = 2 of highest ω.
    features, _ = featurizer.encode_graph(["My birthday is the day of my exam."])
    tokens = word_tokenizer.convert_ids_to_tokens(features["input_ids"])
    concepts = [t for t, s in zip(tokens, features["dialogue_state_ids"], strict=True) if s == 2]
    assert sorted(concepts) == ["nervous", "scared"] and featurizer.max_concepts == 2
    pool = featurizer.retriever.retrieve("my birthday is the day of my exam .".split())[0]
    assert set(pool) == {"party", "cake", "gift", "nervous", "scared", "grade"}


def test_featurizer_builds_cognition_vertices_and_reactions(featurizer, word_tokenizer):
    batch = featurizer.encode_dialogues(DIALOGUES[:1])
    types, owners = batch["cs_vertex_types"][0].tolist(), batch["cs_owners"][0].tolist()
    heads = 3  # u0 + the two sentences
    assert types[:heads] == [UTTERANCE, SUB_UTTERANCE, SUB_UTTERANCE] and owners[:heads] == [0, 1, 2]
    knowledge = [(t, o) for t, o in zip(types[heads:], owners[heads:], strict=True) if t >= KNOWLEDGE]
    assert all(sum(1 for x in knowledge if x == (KNOWLEDGE + r, i)) <= 2 for r in range(4) for i in range(3))  # l = 2
    first = word_tokenizer.convert_ids_to_tokens(batch["cs_input_ids"][0, 0][batch["cs_attention_mask"][0, 0].bool()])
    assert first[0] == "[CLS]" and first[1:4] == ["my", "exam", "is"]
    assert batch["reaction_ids"].shape[:2] == (1, heads) and (batch["reaction_ids"][0, :, 0] == word_tokenizer.cls_token_id).all()


def test_featurizer_without_commonsense_names_the_fix(word_tokenizer, retriever):
    bare = CaseFeaturizer(word_tokenizer, retriever, max_source_length=64)
    with pytest.raises(ValueError, match="annotate_commonsense"):
        bare.encode_dialogues(DIALOGUES[:1])


# --- model ---------------------------------------------------------------------------------------------------

WEIGHTS = {"bow_loss": 1.0, "kl_loss": 1.0, "coarse_loss": 1.0, "fine_loss": 0.2, "emotion_loss": 1.0, "generation_loss": 1.0, "diversity_loss": 1.5}


def _terms(outputs) -> dict[str, float]:
    return {k: float(v) for k, v in outputs.items() if k.endswith("_loss")}


def test_face_weights_by_hand():
    from empathetic_models.modeling.layers import face_weights

    weights = face_weights(torch.tensor([6.0, 3.0, 1.0, 0.0]))
    assert torch.allclose(weights, torch.tensor([0, 6 / 7, 10 / 7, 12 / 7]))
    assert torch.equal(face_weights(torch.zeros(4)), torch.ones(4)) and torch.equal(face_weights(torch.full((4,), 2.0)), torch.ones(4))


def test_loss_is_the_weighted_sum_of_every_term(featurizer, word_tokenizer):
    model = make_case(word_tokenizer).train()
    outputs = model(**_training_batch(featurizer))
    terms = _terms(outputs)
    assert set(terms) == set(WEIGHTS)
    assert float(outputs.loss) == pytest.approx(sum(WEIGHTS[k] * v for k, v in terms.items()), rel=1e-5)
    outputs.loss.backward()
    assert model.model.encoder.cognition_graph[0].attention.relations.weight.grad.abs().sum() > 0
    assert model.token_frequency.sum() > 0  # L_div counted this batch's predicted tokens


@pytest.mark.parametrize(
    ("flag", "dropped"),
    [("use_alignment", {"bow_loss", "kl_loss", "coarse_loss", "fine_loss"}), ("use_coarse_alignment", {"coarse_loss"}),
     ("use_fine_alignment", {"fine_loss"})],
)  # fmt: skip
def test_alignment_ablations_drop_exactly_their_terms(featurizer, word_tokenizer, flag, dropped):
    model = make_case(word_tokenizer, **{flag: False}).train()
    assert set(_terms(model(**_training_batch(featurizer)))) == set(WEIGHTS) - dropped


@pytest.mark.parametrize("flags", [{"use_cognition_graph": False}, {"use_concept_graph": False}, {"use_cognition_graph": False, "use_concept_graph": False}])
def test_graph_ablations_skip_the_graph_encoders(featurizer, word_tokenizer, flags):
    model = make_case(word_tokenizer, **flags).train()
    model(**_training_batch(featurizer)).loss.backward()
    encoder = model.model.encoder
    for name, layers in (("use_cognition_graph", encoder.cognition_graph), ("use_concept_graph", encoder.concept_graph)):
        grads = [p.grad for p in layers.parameters()]
        if name in flags:
            assert all(g is None for g in grads), name  # the skipped graph encoder takes no part
        else:
            assert any(g is not None and g.abs().sum() > 0 for g in grads), name


def test_bow_phase_trains_the_bow_loss_alone(featurizer, word_tokenizer):
    model = make_case(word_tokenizer).train()
    model.bow_pretraining = True
    outputs = model(**_training_batch(featurizer))
    assert float(outputs.loss) == pytest.approx(float(outputs.bow_loss)) and outputs.generation_loss is None
    outputs.loss.backward()
    assert model.model.decoder.layers[0].self_attn.q_proj.weight.grad is None  # the decoder is not trained in phase 1
    assert model.bow_head[0].weight.grad.abs().sum() > 0


def assert_batched_cached_generation_equals_one_at_a_time(model, featurizer):
    batch = featurizer.encode_dialogues(DIALOGUES)
    with torch.no_grad():
        together = model.generate(**batch, max_new_tokens=6)
        alone = [model.generate(**featurizer.encode_dialogues([d]), max_new_tokens=6, use_cache=False)[0] for d in DIALOGUES]
        beams = model.generate(**batch, max_new_tokens=6, num_beams=3)
    for row, single in zip(together, alone, strict=True):
        assert row[: len(single)].tolist() == single.tolist()
    assert beams.shape[0] == 3


def test_batched_cached_generation_equals_one_at_a_time(featurizer, word_tokenizer):
    assert_batched_cached_generation_equals_one_at_a_time(make_case(word_tokenizer), featurizer)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, word_tokenizer, featurizer):
    folder = tmp_path_factory.mktemp("case") / "tiny_case"
    model = make_case(word_tokenizer)
    model.token_frequency += torch.arange(model.config.vocab_size, dtype=torch.float)  # a non-trivial saved buffer
    model.save_pretrained(folder)
    word_tokenizer.save_pretrained(folder)
    featurizer.save_pretrained(folder)
    return folder


def test_save_load_round_trip_keeps_weights_buffers_and_featurizer_settings(checkpoint, featurizer, word_tokenizer):
    reference = make_case(word_tokenizer)
    model = AutoModelForSeq2SeqLM.from_pretrained(checkpoint).eval()
    assert torch.equal(model.token_frequency, torch.arange(model.config.vocab_size, dtype=torch.float))
    batch = featurizer.encode_dialogues(DIALOGUES)
    with torch.no_grad():
        assert torch.equal(model.generate(**batch, max_new_tokens=5), reference.generate(**batch, max_new_tokens=5))
    assert (checkpoint / KNOWLEDGE_FILE).is_file() and (checkpoint / FEATURIZER_CONFIG).is_file()
    assert (checkpoint / "commonsense" / ATOMIC_FILE).is_file()  # the commonsense travels with the checkpoint
    loaded = featurizer_for("case", word_tokenizer, checkpoint=checkpoint)
    assert (loaded.max_concepts, loaded.inferences_per_relation) == (2, 2)
    assert loaded.commonsense.fingerprint() == featurizer.commonsense.fingerprint()
    served = loaded.encode_dialogues(DIALOGUES)
    assert served.keys() == batch.keys() and all(torch.equal(served[k], batch[k]) for k in batch)
    _, _, from_folder = load_checkpoint(str(checkpoint), "cpu")
    responses, emotions = generate_responses(model, from_folder, DIALOGUES, batch_size=2, progress=False, max_new_tokens=5)
    assert len(responses) == 3 and all(e in model.config.label2id for e in emotions)


def test_trust_remote_code_loads_case_without_the_package(checkpoint, featurizer, word_tokenizer, tmp_path):
    batch = featurizer.encode_dialogues(DIALOGUES)
    with torch.no_grad():
        expected = AutoModelForSeq2SeqLM.from_pretrained(checkpoint).eval().generate(**batch)
    child = generate_without_the_package(checkpoint, batch, tmp_path)
    assert child["module"].startswith("transformers_modules") and child["tokens"] == expected.tolist()


# --- training ------------------------------------------------------------------------------------------------


@pytest.mark.skipif(not (CN4.is_file() and NRC_VAD.is_file()), reason="shared ConceptNet / NRC-VAD absent")
def test_case_trains_bow_phase_first_and_saves_complete_checkpoints(tmp_path, tiny_cause_encoder):
    from empathetic_models.training.train import main

    atomic = tmp_path / "atomic.tsv"
    atomic.write_text("".join(f"{h}\t{r}\t{t}\n" for h, r, t in TRIPLES))
    out = tmp_path / "case"
    info = main([
        "sample", "--model_type", "case", "--output_dir", str(out), "--conceptnet", str(CN4), "--vad_lexicon", str(NRC_VAD),
        "--atomic", str(atomic), "--commonsense_encoder", str(tiny_cause_encoder), "--knowledge_cache_dir", str(tmp_path / "cache"),
        "--model_config", '{"d_model": 32, "attention_dim": 8, "ffn_dim": 16}', "--bow_pretraining_steps", "2", "--max_steps", "4",
        "--logging_steps", "1", "--eval_strategy", "no", "--save_strategy", "steps", "--save_steps", "4",
        "--load_best_model_at_end", "false", "--max_test_samples", "6", "--use_cpu", "true",
    ])  # fmt: skip
    assert info["global_step"] == 4 and "ATOMIC retrieval" in info["knowledge_source"]
    logs = [h for h in json.loads((out / "trainer_state.json").read_text())["log_history"] if "loss" in h]
    assert "generation_loss" not in logs[0] and logs[0]["loss"] == pytest.approx(logs[0]["bow_loss"], abs=1e-3)  # phase 1
    assert {"generation_loss", "diversity_loss", "fine_loss"} <= logs[-1].keys()
    for folder in (out, out / "checkpoint-4"):
        assert (folder / KNOWLEDGE_FILE).is_file() and (folder / "commonsense" / ATOMIC_FILE).is_file()
        assert json.loads((folder / FEATURIZER_CONFIG).read_text())["resources"]["commonsense"]["kind"] == "router"
    results = json.loads((out / "results" / "test_results.json").read_text())
    assert results["model_type"] == "case" and results["num_examples"] == 6
    assert "CASE" in (out / "README.md").read_text()
    atomic.rename(tmp_path / "moved.tsv")  # the training resources gone: the saved folder still serves
    model, _, featurizer = load_checkpoint(str(out), "cpu")
    responses, _ = generate_responses(model, featurizer, DIALOGUES[:2], progress=False, max_new_tokens=4)
    assert len(responses) == 2


def test_contract_half_precision_resize_and_missing_counts(featurizer, word_tokenizer, tmp_path):
    from contract import assert_gradient_checkpointing_matches, assert_unsupported_outputs_are_refused, assert_static_cache_generates_as_the_dynamic_one, assert_missing_shared_embedding_is_reported_and_initialised, assert_return_dict_false_gives_the_tuple, assert_half_precision_loads_and_runs, assert_missing_token_frequency_loads_as_zeros, assert_resize_then_one_training_step

    batch = _training_batch(featurizer)
    assert_half_precision_loads_and_runs(make_case(word_tokenizer), batch, tmp_path / "half")
    assert_return_dict_false_gives_the_tuple(make_case(word_tokenizer), batch)
    assert_gradient_checkpointing_matches(make_case(word_tokenizer), batch)
    assert_unsupported_outputs_are_refused(make_case(word_tokenizer), batch)
    assert_static_cache_generates_as_the_dynamic_one(make_case(word_tokenizer), batch)
    assert_missing_shared_embedding_is_reported_and_initialised(make_case(word_tokenizer), batch, tmp_path / "no_embedding")
    assert_resize_then_one_training_step(make_case(word_tokenizer), batch)
    assert_missing_token_frequency_loads_as_zeros(make_case(word_tokenizer), tmp_path / "counts")
