"""Initialise word embeddings from a local GloVe-format text file (``word v_1 … v_d`` per line)."""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

logger = logging.getLogger(__name__)


def load_glove_embeddings(path: str | Path, tokenizer: PreTrainedTokenizerBase, model: PreTrainedModel) -> float:
    """Copy the vectors of the vocabulary's words into ``model.get_input_embeddings()``; returns coverage.

    Words absent from the file keep their random initialisation (as in MoEL's ``gen_embeddings``).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"embeddings file not found: {path}")
    embedding = model.get_input_embeddings()
    vocab, dim = tokenizer.get_vocab(), embedding.embedding_dim
    found = 0
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f, torch.no_grad():
        for line_number, line in enumerate(f, 1):
            word, _, rest = line.rstrip().partition(" ")
            index = vocab.get(word)
            if index is None:
                continue
            values = rest.split(" ")
            if len(values) != dim:
                raise ValueError(f"{path}:{line_number}: vector of size {len(values)}, but the model's d_model is {dim}")
            # stored divided by the embedding's input scale, so the model's input is the GloVe vector itself
            embedding.weight[index] = torch.tensor([float(v) for v in values]) / getattr(embedding, "embed_scale", 1.0)
            found += 1
    coverage = found / len(vocab)
    logger.info("initialised %d/%d word embeddings (%.1f%%) from %s", found, len(vocab), 100 * coverage, path)
    return coverage
