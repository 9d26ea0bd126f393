"""Dialogue graphs built inside the models from 2-D vertex features, and graph-transformer layers.

- :func:`emotional_context_graph` — KEMP's emotional context graph, also CASE's emotional concept graph G_EC.
- :func:`cognition_graph` — CASE's commonsense cognition graph G_CS with its seven edge relations.
- :class:`GraphTransformerLayer` — attention restricted to a graph's edges + FFN; with ``num_relations`` it is
  the Relation-Enhanced Graph Transformer of Li et al. (2021) (case.txt eqs. 1–2), else the vanilla one.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from transformers.modeling_layers import GradientCheckpointingLayer

from .layers import BlockSizes, FeedForward, MultiHeadAttention

CONCEPT_STATE = 2  # vertex state id of ConceptNet concepts (0 = speaker word, 1 = listener word)

# G_CS vertex types (featurizer) and edge relations (case.txt §3.1)
UTTERANCE, SUB_UTTERANCE = 0, 1  # u_0 = x_N; u_i (i >= 1); knowledge of relation r has type KNOWLEDGE + r
KNOWLEDGE = 2
COGNITION_RELATIONS = ("xIntent", "xNeed", "xWant", "xEffect")
SELF_LOOP, GLOBAL, TEMPORARY = 0, 1, 2  # then 3 + r for the commonsense relation r
NUM_COGNITION_EDGE_RELATIONS = 3 + len(COGNITION_RELATIONS)


def emotional_context_graph(
    attention_mask: torch.Tensor, vertex_states: torch.Tensor, concept_sources: torch.Tensor, self_loops: bool = False
) -> torch.Tensor:
    """Adjacency of the emotional context graph, (B, S, S) bool, True = edge (used in both directions).

    (i) temporary edges between successive context words, (ii) emotion edges between a word and its concepts
    (``concept_sources`` holds the source word's vertex index for concepts), (iii) globality edges between
    [CLS] (vertex 0) and every other vertex; with ``self_loops`` (CASE) every vertex also sees itself.
    Padding vertices only see themselves (keeps softmax rows finite).
    """
    valid = attention_mask.bool()
    positions = torch.arange(valid.shape[1], device=valid.device)
    is_concept = valid & vertex_states.eq(CONCEPT_STATE)
    is_word = valid & ~is_concept & positions.ne(0)
    successive = (positions[:, None] - positions[None, :]).abs().eq(1)
    adjacency = successive & is_word[:, :, None] & is_word[:, None, :]  # (i)
    emotion = is_concept[:, :, None] & concept_sources[:, :, None].eq(positions)  # (ii) concept → source word
    adjacency = adjacency | emotion | emotion.transpose(1, 2)
    is_global = positions.eq(0)
    adjacency = adjacency | is_global[:, None] | is_global[None, :]  # (iii)
    adjacency = adjacency & valid[:, :, None] & valid[:, None, :]
    eye = torch.eye(valid.shape[1], dtype=torch.bool, device=valid.device)
    return adjacency | (eye & (~valid[:, :, None] | self_loops))


def cognition_graph(vertex_types: torch.Tensor, owners: torch.Tensor) -> torch.Tensor:
    """Edge relations of G_CS, (B, N, N) long, -1 = no edge (case.txt §3.1).

    ``vertex_types`` (B, N): :data:`UTTERANCE` for u_0, :data:`SUB_UTTERANCE` for u_1..u_t (in order),
    ``KNOWLEDGE + r`` for an inference of relation r, -1 for padding; ``owners`` (B, N): the vertex index of
    the utterance an inference was made for. Relations: self-loop; global u_0–u_i; temporary u_j–u_{j+1};
    ``3 + r`` between u_i and each of its relation-r inferences. All undirected; padding only sees itself.
    """
    n = vertex_types.shape[1]
    positions = torch.arange(n, device=vertex_types.device)
    relations = torch.full((vertex_types.shape[0], n, n), -1, dtype=torch.long, device=vertex_types.device)
    root, sub = vertex_types.eq(UTTERANCE), vertex_types.eq(SUB_UTTERANCE)
    is_global = root[:, :, None] & sub[:, None, :]
    relations[is_global | is_global.transpose(1, 2)] = GLOBAL
    successive = (positions[:, None] - positions[None, :]).abs().eq(1)
    relations[successive & sub[:, :, None] & sub[:, None, :]] = TEMPORARY
    knowledge = vertex_types.ge(KNOWLEDGE)
    owned = knowledge[:, :, None] & owners[:, :, None].eq(positions)  # (B, N, N): inference k → its utterance
    kind = (3 + vertex_types - KNOWLEDGE)[:, :, None].expand(-1, -1, n)
    relations = torch.where(owned, kind, relations)
    relations = torch.where(owned.transpose(1, 2), kind.transpose(1, 2), relations)
    relations[:, torch.eye(n, dtype=torch.bool, device=vertex_types.device)] = SELF_LOOP  # padding: only itself
    return relations


class RelationEnhancedAttention(nn.Module):
    """Multi-head attention over graph edges whose query and key carry the edge's relation embedding
    (eq. 2: q_{v_i} = v_i + l_{i→k}, k_{v_k} = v_k + l_{k→i}); values are the plain vertices (eq. 1).

    The score (W_q(v_i + l))·(W_k(v_k + l)) is expanded into four products so that no (B, N, N, D) tensor
    is built: W_q v_i·W_k v_k + W_q v_i·W_k l + W_q l·W_k v_k + W_q l·W_k l, each gathered at the edge's relation.
    """

    def __init__(self, d_model: int, num_heads: int, attention_dim: int, dropout: float, num_relations: int):
        super().__init__()
        self.attention = MultiHeadAttention(d_model, num_heads, attention_dim, dropout)
        self.relations = nn.Embedding(num_relations, d_model)  # l, one per edge relation

    def forward(self, vertices: torch.Tensor, relations: torch.Tensor) -> torch.Tensor:
        att = self.attention
        heads = att._heads
        q_v, k_v, v_v = heads(att.q_proj(vertices)), heads(att.k_proj(vertices)), heads(att.v_proj(vertices))  # (B, H, N, d)
        table = self.relations.weight[None]  # (1, R, D)
        q_l, k_l = heads(att.q_proj(table))[0], heads(att.k_proj(table))[0]  # (H, R, d)
        index = relations.clamp_min(0)[:, None].expand(-1, q_v.shape[1], -1, -1)  # (B, H, N, N)
        scores = q_v @ k_v.transpose(-1, -2)
        scores = scores + (q_v @ k_l.transpose(-1, -2)).gather(-1, index)  # W_q v_i · W_k l_{ik}
        scores = scores + (k_v @ q_l.transpose(-1, -2)).gather(-1, index.transpose(-1, -2)).transpose(-1, -2)  # W_q l · W_k v_k
        scores = scores + (q_l * k_l).sum(-1)[torch.arange(q_l.shape[0], device=index.device)[None, :, None, None], index]  # W_q l · W_k l
        scores = scores / math.sqrt(q_v.shape[-1])
        scores = scores.masked_fill(relations.lt(0)[:, None], torch.finfo(scores.dtype).min)
        weights = F.dropout(scores.float().softmax(-1).to(v_v.dtype), att.dropout if self.training else 0.0)
        out = (weights @ v_v).transpose(1, 2).reshape(*vertices.shape[:2], -1)
        return att.out_proj(out)


class GraphTransformerLayer(GradientCheckpointingLayer):
    """Pre-norm attention over a graph's edges + FFN (the vanilla graph transformer); relational when
    ``num_relations`` is given (``relations`` then holds edge relation ids, -1 = none; else a bool adjacency)."""

    def __init__(self, sizes: BlockSizes, num_relations: int | None = None):
        super().__init__()
        d = sizes.d_model
        if num_relations:
            self.attention = RelationEnhancedAttention(d, sizes.num_heads, sizes.attention_dim, sizes.attention_dropout, num_relations)
        else:
            self.attention = MultiHeadAttention.of(sizes)
        self.ffn = FeedForward.of(sizes)
        self.attention_layer_norm, self.ffn_layer_norm = nn.LayerNorm(d), nn.LayerNorm(d)
        self.dropout = nn.Dropout(sizes.dropout)

    def forward(self, vertices: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
        normed = self.attention_layer_norm(vertices)
        if isinstance(self.attention, RelationEnhancedAttention):
            h = self.attention(normed, edges)
        else:
            h = self.attention(normed, attention_mask=edges[:, None])
        vertices = vertices + self.dropout(h)
        return vertices + self.dropout(self.ffn(self.ffn_layer_norm(vertices)))
