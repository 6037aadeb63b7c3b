"""SiameseUIE (upstream ModelScope forward) in plain PyTorch, with Q4_0 fake quantization and Q4_0 export.

State-dict names are upstream's: plm.embeddings.*, plm.encoder.layer.{0..5}.*, crossattention.layer.{0..5}.*,
head_clsf.*, tail_clsf.*.

Forward (models.md section 2.6): the text goes through layers 0-5 with token type 0 and positions 0..L-1; the hint
`[CLS] hint [SEP]` goes through layers 0-5 with token type 1 and positions L..L+H-1 (L = the text window length); the
top 6 layers run over concat(text, hint) with full attention and the concatenated key-padding mask; the text rows go
through head_clsf / tail_clsf (Linear(H, 1)); raw logits, threshold 0.5.

Q4_0 format (the shipped model.safetensors, metadata "uninlu.weights": "q4_0"): a weight of logical shape
[rows, cols] is stored as U8 [rows, cols/32, 18]; each block = fp16 scale d (little endian) + 16 bytes q; element j
(0..15) = q[j] & 0x0F, element j+16 = q[j] >> 4; value = (nibble - 8) * d.
"""
import json, math, os

import torch
import torch.nn as nn
import torch.nn.functional as F

QUANT_SUFFIXES = ("attention.self.query.weight", "attention.self.key.weight", "attention.self.value.weight",
                  "attention.output.dense.weight", "intermediate.dense.weight", "output.dense.weight")
WORD_EMB = "plm.embeddings.word_embeddings.weight"


def is_quantized_name(k):
    return k == WORD_EMB or ((k.startswith("plm.encoder.layer.") or k.startswith("crossattention.layer."))
                             and k.endswith(QUANT_SUFFIXES))


# ------------------------------------------------------------------------------------------------ Q4_0
def q4_scale(w):
    """w [r, c] float -> (x [r, c/32, 32] fp32, d [r, c/32] fp32 = fp16-rounded m / -8)."""
    r, c = w.shape
    x = w.float().reshape(r, c // 32, 32)
    idx = x.abs().argmax(-1, keepdim=True)
    m = torch.gather(x, -1, idx)[..., 0]
    d = (m / -8.0).to(torch.float16).float()
    return x, d


def q4_codes(w):
    x, d = q4_scale(w)
    inv = torch.where(d != 0, 1.0 / torch.where(d != 0, d, torch.ones_like(d)), torch.zeros_like(d))
    q = torch.clamp(torch.round(x * inv[..., None]) + 8, 0, 15)
    q = torch.where(d[..., None] != 0, q, torch.full_like(q, 8))
    return q, d


def fake_q4(w):
    """Q4_0 quantize-dequantize with a straight-through estimator."""
    q, d = q4_codes(w.detach())
    wq = ((q - 8) * d[..., None]).reshape(w.shape).to(w.dtype)
    return w + (wq - w).detach()


def q4_pack(w):
    """w [r, c] -> uint8 [r, c/32, 18]."""
    q, d = q4_codes(w)
    q = q.to(torch.uint8)
    r, nb = d.shape
    out = torch.empty(r, nb, 18, dtype=torch.uint8)
    out[..., :2] = d.to(torch.float16).contiguous().view(torch.uint8).reshape(r, nb, 2).cpu()
    out[..., 2:] = (q[..., :16] | (q[..., 16:] << 4)).cpu()
    return out


def q4_unpack(blk):
    """uint8 [r, nb, 18] -> float32 [r, nb*32]."""
    blk = blk.contiguous()
    r, nb, _ = blk.shape
    d = blk[..., :2].contiguous().view(torch.float16).float()          # [r, nb, 1]
    q = blk[..., 2:]
    w = torch.cat([(q & 15), (q >> 4)], -1).float() - 8
    return (w * d).reshape(r, nb * 32)


# ------------------------------------------------------------------------------------------------ Q8_0
def q8_pack(w):
    """w [r, c] -> uint8 [r, c/32, 34]: ggml Q8_0 (d = fp16(amax / 127), q = round(x / d) as int8)."""
    r, c = w.shape
    x = w.float().reshape(r, c // 32, 32)
    d = (x.abs().amax(-1) / 127.0).to(torch.float16).float()
    inv = torch.where(d != 0, 1.0 / torch.where(d != 0, d, torch.ones_like(d)), torch.zeros_like(d))
    q = torch.clamp(torch.round(x * inv[..., None]), -128, 127).to(torch.int8)
    out = torch.empty(r, c // 32, 34, dtype=torch.uint8)
    out[..., :2] = d.to(torch.float16).contiguous().view(torch.uint8).reshape(r, c // 32, 2).cpu()
    out[..., 2:] = q.view(torch.uint8).cpu()
    return out


def q8_unpack(blk):
    """uint8 [r, nb, 34] -> float32 [r, nb*32]."""
    blk = blk.contiguous()
    r, nb, _ = blk.shape
    d = blk[..., :2].contiguous().view(torch.float16).float()          # [r, nb, 1]
    q = blk[..., 2:].contiguous().view(torch.int8).float()
    return (q * d).reshape(r, nb * 32)


# ------------------------------------------------------------------------------------------------ model
class QLinear(nn.Linear):
    fake_quant = False

    def forward(self, x):
        w = fake_q4(self.weight) if QLinear.fake_quant else self.weight
        return F.linear(x, w, self.bias)


class Obj(nn.Module):
    pass


class Embeddings(nn.Module):
    def __init__(self, V, H, P, T, eps):
        super().__init__()
        self.word_embeddings = nn.Embedding(V, H)
        self.position_embeddings = nn.Embedding(P, H)
        self.token_type_embeddings = nn.Embedding(T, H)
        self.LayerNorm = nn.LayerNorm(H, eps=eps)

    def forward(self, ids, pos, typ, drop):
        w = fake_q4(self.word_embeddings.weight) if QLinear.fake_quant else self.word_embeddings.weight
        x = F.embedding(ids, w) + self.position_embeddings(pos) + self.token_type_embeddings(typ)
        return F.dropout(self.LayerNorm(x), drop, self.training)


class Layer(nn.Module):
    def __init__(self, H, NH, FF, eps):
        super().__init__()
        self.nh = NH
        self.attention = Obj(); self.attention.self = Obj(); self.attention.output = Obj()
        self.attention.self.query = QLinear(H, H); self.attention.self.key = QLinear(H, H)
        self.attention.self.value = QLinear(H, H)
        self.attention.output.dense = QLinear(H, H); self.attention.output.LayerNorm = nn.LayerNorm(H, eps=eps)
        self.intermediate = Obj(); self.intermediate.dense = QLinear(H, FF)
        self.output = Obj(); self.output.dense = QLinear(FF, H); self.output.LayerNorm = nn.LayerNorm(H, eps=eps)

    def forward(self, x, mask, drop):
        """x [B, L, H]; mask: bool [B, 1, 1, L] (True = attend)."""
        B, L, H = x.shape
        s = self.attention.self
        q, k, v = (m(x).view(B, L, self.nh, H // self.nh).transpose(1, 2) for m in (s.query, s.key, s.value))
        ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=drop if self.training else 0.0)
        ctx = ctx.transpose(1, 2).reshape(B, L, H)
        a = self.attention.output
        x = a.LayerNorm(x + F.dropout(a.dense(ctx), drop, self.training))
        i = F.gelu(self.intermediate.dense(x))
        o = self.output
        return o.LayerNorm(x + F.dropout(o.dense(i), drop, self.training))


class SiameseUIE(nn.Module):
    def __init__(self, cfg, dropout=0.1):
        super().__init__()
        V, H, NH, FF = cfg["vocab_size"], cfg["hidden_size"], cfg["num_attention_heads"], cfg["intermediate_size"]
        eps = cfg["layer_norm_eps"]
        self.cfg, self.drop = cfg, dropout
        self.plm = Obj()
        self.plm.embeddings = Embeddings(V, H, cfg["max_position_embeddings"], cfg["type_vocab_size"], eps)
        self.plm.encoder = Obj()
        n = cfg["num_hidden_layers"] // 2
        self.plm.encoder.layer = nn.ModuleList([Layer(H, NH, FF, eps) for _ in range(n)])
        self.crossattention = Obj()
        self.crossattention.layer = nn.ModuleList([Layer(H, NH, FF, eps) for _ in range(cfg["num_hidden_layers"] - n)])
        self.head_clsf = nn.Linear(H, 1)
        self.tail_clsf = nn.Linear(H, 1)

    def lower(self, ids, pos, typ, mask):
        x = self.plm.embeddings(ids, pos, typ, self.drop)
        m = mask[:, None, None, :].bool()
        for layer in self.plm.encoder.layer:
            x = layer(x, m, self.drop)
        return x

    def forward(self, text_ids, text_mask, text_pos0, hint_ids, hint_mask, pair_text):
        """text_ids/text_mask [B, Lt]; text_pos0 [B] = the window length L that the hint positions start at;
        hint_ids/hint_mask [P, Lh]; pair_text [P] = text row of each hint. Returns head, tail logits [P, Lt]
        (padded text positions get -10000 added, as upstream)."""
        B, Lt = text_ids.shape
        P, Lh = hint_ids.shape
        dev = text_ids.device
        tpos = torch.arange(Lt, device=dev)[None].expand(B, Lt)
        T = self.lower(text_ids, tpos, torch.zeros_like(text_ids), text_mask)
        hpos = text_pos0[pair_text][:, None] + torch.arange(Lh, device=dev)[None]
        Hh = self.lower(hint_ids, hpos, torch.ones_like(hint_ids), hint_mask)
        tm = text_mask[pair_text]
        X = torch.cat([T[pair_text], Hh], 1)
        m = torch.cat([tm, hint_mask], 1)[:, None, None, :].bool()
        for layer in self.crossattention.layer:
            X = layer(X, m, self.drop)
        X = X[:, :Lt]
        head = self.head_clsf(X)[..., 0].float() + (1 - tm.float()) * -10000.0
        tail = self.tail_clsf(X)[..., 0].float() + (1 - tm.float()) * -10000.0
        return head, tail


# ------------------------------------------------------------------------------------------------ I/O
def bert_config(vocab_size, eps):
    return {"architectures": ["BertModel"], "attention_probs_dropout_prob": 0.1, "classifier_dropout": None,
            "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": 384, "initializer_range": 0.02,
            "intermediate_size": 1536, "layer_norm_eps": eps, "max_position_embeddings": 512, "model_type": "bert",
            "num_attention_heads": 12, "num_hidden_layers": 12, "pad_token_id": 0, "position_embedding_type": "absolute",
            "type_vocab_size": 2, "use_cache": True, "vocab_size": vocab_size}


def load_state(path):
    """Reads a safetensors file in the Q4_0 layout (or plain float) and returns float32 tensors."""
    from safetensors.torch import load_file
    sd = load_file(path)
    out = {}
    for k, t in sd.items():
        if t.dtype == torch.uint8 and t.dim() == 3 and t.shape[-1] == 18:
            out[k] = q4_unpack(t)
        elif t.dtype == torch.uint8 and t.dim() == 3 and t.shape[-1] == 34:
            out[k] = q8_unpack(t)
        else:
            out[k] = t.float()
    return out


def build_model(state, cfg, dropout=0.1, init_seed=0):
    torch.manual_seed(init_seed)
    model = SiameseUIE(cfg, dropout)
    for head in (model.head_clsf, model.tail_clsf):
        nn.init.normal_(head.weight, std=0.02); nn.init.zeros_(head.bias)
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [m for m in missing if not m.startswith(("head_clsf", "tail_clsf"))]
    assert not missing and not unexpected, (missing, unexpected)
    return model


def export_q4(model, path, metadata=None, scheme="q4_0"):
    """Writes the shipped model.safetensors: Q4_0 (or Q8_0) blocks for Linear weights of the 12 layers and the word
    embeddings, F16 position embeddings, F32 for everything else."""
    from safetensors.torch import save_file
    sd = {}
    for k, t in model.state_dict().items():
        t = t.detach().float().cpu()
        if is_quantized_name(k):
            sd[k] = q4_pack(t) if scheme == "q4_0" else q8_pack(t)
        elif k == "plm.embeddings.position_embeddings.weight":
            sd[k] = t.to(torch.float16).contiguous()
        else:
            sd[k] = t.contiguous()
    meta = {"format": "pt", "uninlu.weights": scheme}
    meta.update(metadata or {})
    save_file(sd, path, metadata=meta)
    return sd
