"""Tests of the word tokenizer (empathetic_models.tokenization), word_tokenize and the word featurizer."""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer, PreTrainedTokenizerFast

from empathetic_models.data import LISTENER, SPEAKER
from empathetic_models.featurization import STATE_IDS, WordContextFeaturizer, default_roles
from empathetic_models.text import word_tokenize
from empathetic_models.tokenization import SPECIAL_TOKENS, build_word_tokenizer, count_words, vocabulary_texts

ED_VALID = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "empathetic_dialogues" / "valid.csv.gz"


# --- build_word_tokenizer -------------------------------------------------------------------------------


def test_special_tokens_take_ids_0_to_4(word_tokenizer):
    vocab = word_tokenizer.get_vocab()
    assert [vocab[t] for t in ("[PAD]", "[UNK]", "[SOS]", "[EOS]", "[CLS]")] == [0, 1, 2, 3, 4]
    assert SPECIAL_TOKENS == ("[PAD]", "[UNK]", "[SOS]", "[EOS]", "[CLS]")
    assert (word_tokenizer.pad_token_id, word_tokenizer.unk_token_id, word_tokenizer.bos_token_id) == (0, 1, 2)
    assert (word_tokenizer.eos_token_id, word_tokenizer.cls_token_id) == (3, 4)


def test_vocab_is_every_training_word_most_frequent_first(sample_ed, word_tokenizer):
    counts = count_words(vocabulary_texts(sample_ed["train"]))
    vocab = word_tokenizer.get_vocab()
    words = [w for w, _ in sorted(vocab.items(), key=lambda kv: kv[1])][len(SPECIAL_TOKENS) :]
    assert set(words) == set(counts)
    assert len(vocab) == len(word_tokenizer) == len(counts) + len(SPECIAL_TOKENS)
    # frequency descending, ties broken alphabetically
    keys = [(-counts[w], w) for w in words]
    assert keys == sorted(keys)
    assert counts[words[0]] > counts[words[-1]]


def test_vocab_order_and_limits_on_hand_made_texts():
    tok = build_word_tokenizer(["b a b c b a", "a b d"], max_vocab_size=len(SPECIAL_TOKENS) + 2)
    assert tok.convert_ids_to_tokens(list(range(len(tok)))) == [*SPECIAL_TOKENS, "b", "a"]
    tok = build_word_tokenizer(["b a b c b a", "a b d"], min_frequency=2)
    assert tok.convert_ids_to_tokens([5, 6]) == ["b", "a"] and len(tok) == 7
    with pytest.raises(ValueError, match="no words"):
        build_word_tokenizer(["   ", ""])


def test_saved_tokenizer_reloads_with_auto_tokenizer(word_tokenizer, tmp_path):
    word_tokenizer.save_pretrained(tmp_path)
    assert (tmp_path / "tokenizer.json").is_file()
    loaded = AutoTokenizer.from_pretrained(tmp_path)
    assert isinstance(loaded, PreTrainedTokenizerFast) and loaded.is_fast
    assert loaded.get_vocab() == word_tokenizer.get_vocab()
    assert (loaded.pad_token_id, loaded.eos_token_id, loaded.cls_token_id) == (0, 3, 4)
    assert (loaded.unk_token_id, loaded.bos_token_id) == (1, 2)
    text = "I'm so happy_comma_ I can't believe it!"
    assert loaded(text).input_ids == word_tokenizer(text).input_ids


# --- raw text through the saved tokenizer vs word_tokenize ------------------------------------------------


def _valid_utterances() -> list[str]:
    with gzip.open(ED_VALID, "rt", encoding="utf-8") as handle:
        lines = handle.read().splitlines()[1:]  # skip the header
    return [line.split(",")[5] for line in lines if line.count(",") >= 5]


@pytest.mark.skipif(not ED_VALID.is_file(), reason=f"{ED_VALID} (full ED valid split) is not available")
def test_raw_text_tokenization_matches_word_tokenize_on_ed_valid(word_tokenizer, tmp_path):
    word_tokenizer.save_pretrained(tmp_path)
    loaded = AutoTokenizer.from_pretrained(tmp_path)  # only tokenizer.json's normalizer + pre-tokenizer
    vocab, unk = loaded.get_vocab(), loaded.unk_token_id
    utterances = _valid_utterances()
    assert len(utterances) > 10_000
    encoded = loaded(utterances, add_special_tokens=False).input_ids
    expected = [[vocab.get(w, unk) for w in word_tokenize(u)] for u in utterances]
    same = sum(a == b for a, b in zip(encoded, expected, strict=True))
    assert same / len(utterances) >= 0.98, f"only {same}/{len(utterances)} utterances tokenize identically"
    # and both sides see unknown words (the vocabulary comes from the small sample only)
    assert any(unk in ids for ids in expected)


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("I'm", ["i", "am"]),
        ("_comma_", [","]),
        ("can't", ["can", "not"]),
        ('He said "wow" loudly', ["he", "said", "``", "wow", "''", "loudly"]),
        ("I'm gonna win_comma_ I can't lose.", ["i", "am", "gon", "na", "win", ",", "i", "can", "not", "lose", "."]),
        ("It's FINE. Really!", ["it", "is", "fine", ".", "really", "!"]),
    ],
)
def test_word_tokenize_and_raw_tokenizer_on_hand_made_strings(word_tokenizer, text, tokens):
    assert word_tokenize(text) == tokens
    vocab, unk = word_tokenizer.get_vocab(), word_tokenizer.unk_token_id
    expected = [vocab.get(w, unk) for w in tokens]
    assert word_tokenizer(text, add_special_tokens=False).input_ids == expected


def test_unknown_words_map_to_unk(word_tokenizer):
    ids = word_tokenizer("zyxwvut qqqqq", add_special_tokens=False).input_ids
    assert ids == [word_tokenizer.unk_token_id] * 2


# --- featurizer -------------------------------------------------------------------------------------------


def _ids(tokenizer, text: str) -> list[int]:
    vocab = tokenizer.get_vocab()
    return [vocab.get(w, tokenizer.unk_token_id) for w in word_tokenize(text)]


def test_default_roles():
    assert default_roles(3) == ["speaker", "listener", "speaker"]
    assert default_roles(2) == ["listener", "speaker"]
    assert default_roles(1) == ["speaker"]
    assert STATE_IDS == {SPEAKER: 0, LISTENER: 1}


def test_featurizer_encodes_context_states_labels_and_emotion(word_tokenizer):
    featurizer = WordContextFeaturizer(word_tokenizer)
    batch = {
        "context": [["I got a new job!", "That is great.", "I am so happy"]],
        "context_roles": [[SPEAKER, LISTENER, SPEAKER]],
        "target": ["Congrats_comma_ you deserve it"],
        "emotion": [7],
    }
    out = featurizer(batch)
    u1, u2, u3 = (_ids(word_tokenizer, u) for u in batch["context"][0])
    assert out["input_ids"] == [[word_tokenizer.cls_token_id, *u1, *u2, *u3]]
    assert out["dialogue_state_ids"] == [[0] + [0] * len(u1) + [1] * len(u2) + [0] * len(u3)]
    target = _ids(word_tokenizer, "Congrats, you deserve it")
    assert out["labels"] == [[*target, word_tokenizer.eos_token_id]]
    assert out["labels"][0][-1] == 3
    assert out["emotion_labels"] == [7]


def test_featurizer_truncates_long_targets_keeping_eos(word_tokenizer):
    featurizer = WordContextFeaturizer(word_tokenizer, max_target_length=4)
    labels = featurizer.encode_target("i am so very happy today")
    assert labels == [*_ids(word_tokenizer, "i am so")[:3], word_tokenizer.eos_token_id]


def test_featurizer_keeps_cls_and_the_most_recent_tokens(word_tokenizer):
    featurizer = WordContextFeaturizer(word_tokenizer, max_source_length=10)
    context = ["i went to the store yesterday", "oh what did you buy", "i bought a new car today"]
    u1, u2, u3 = (_ids(word_tokenizer, u) for u in context)
    assert (len(u1), len(u2), len(u3)) == (6, 5, 6)
    ids, states, truncated = featurizer.encode_context(context)
    assert truncated
    history = u1 + u2 + u3
    assert ids == [word_tokenizer.cls_token_id, *history[-9:]]
    assert len(ids) == 10
    # the last 9 tokens are 3 listener tokens of u2 and the 6 speaker tokens of u3
    assert states == [0] + [1] * 3 + [0] * 6
    ids, states, truncated = featurizer.encode_context(context[-1:])
    assert not truncated and ids == [word_tokenizer.cls_token_id, *u3]


def test_featurizer_pad_right_pads(word_tokenizer):
    featurizer = WordContextFeaturizer(word_tokenizer)
    features = [
        {"input_ids": [4, 10, 11], "dialogue_state_ids": [0, 1, 1], "labels": [12, 3], "emotion_labels": 2},
        {"input_ids": [4, 20], "dialogue_state_ids": [0, 0], "labels": [13, 14, 15, 3], "emotion_labels": 5},
    ]
    batch = featurizer.pad(features)
    assert torch.equal(batch["input_ids"], torch.tensor([[4, 10, 11], [4, 20, 0]]))
    assert torch.equal(batch["attention_mask"], torch.tensor([[1, 1, 1], [1, 1, 0]]))
    assert torch.equal(batch["dialogue_state_ids"], torch.tensor([[0, 1, 1], [0, 0, 0]]))
    assert torch.equal(batch["labels"], torch.tensor([[12, 3, -100, -100], [13, 14, 15, 3]]))
    assert torch.equal(batch["emotion_labels"], torch.tensor([2, 5]))


def test_encode_dialogues_uses_default_roles(word_tokenizer):
    featurizer = WordContextFeaturizer(word_tokenizer)
    batch = featurizer.encode_dialogues([["hi there", "i am sad"], ["i am sad"]])
    hi, sad = _ids(word_tokenizer, "hi there"), _ids(word_tokenizer, "i am sad")
    assert batch["input_ids"][0].tolist() == [4, *hi, *sad]
    assert batch["dialogue_state_ids"][0].tolist() == [0] + [1] * len(hi) + [0] * len(sad)
    width = 1 + len(hi) + len(sad)
    assert batch["input_ids"][1].tolist() == [4, *sad] + [0] * len(hi)
    assert batch["attention_mask"][1].tolist() == [1] * (1 + len(sad)) + [0] * (width - 1 - len(sad))
    assert "labels" not in batch


def test_featurizer_rejects_too_small_source_length(word_tokenizer):
    with pytest.raises(ValueError, match="max_source_length"):
        WordContextFeaturizer(word_tokenizer, max_source_length=1)


def test_counter_sanity():
    assert count_words(["I'm happy", "i AM"]) == Counter({"i": 2, "am": 2, "happy": 1})
