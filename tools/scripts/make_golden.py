#!/usr/bin/python3
"""Regenerates the golden test vectors in tests/data/golden/ from torch.nn.MultiheadAttention.

Run with Debian's interpreter, which has python3-torch 1.13 and numpy:
    /usr/bin/python3 tools/scripts/make_golden.py
The test suite reads the files without torch. Each case folder holds weights.safetensors
(PyTorch or Hugging Face tensor names), inputs and expected outputs as .npy, and case.json.
Bookworm packages no safetensors module, so write_safetensors() writes the format itself.
"""
import json
import os
import shutil
import struct
import sys

import numpy as np
import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "golden")


def write_safetensors(path, tensors):
    """tensors: name -> float32 numpy array. Format: u64 header length, JSON header, data."""
    header, blobs, offset = {}, [], 0
    for name, arr in tensors.items():
        data = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def huggingface_names(sd, prefix, drop_k_bias):
    """Renames torch's in_proj_* to Hugging Face's q_proj/k_proj/v_proj (+ out_proj)."""
    E = sd["out_proj.weight"].shape[0]
    w = sd["in_proj_weight"]
    out = {prefix + "q_proj.weight": w[:E], prefix + "k_proj.weight": w[E:2 * E], prefix + "v_proj.weight": w[2 * E:]}
    if "in_proj_bias" in sd:
        b = sd["in_proj_bias"]
        out[prefix + "q_proj.bias"] = b[:E]
        if not drop_k_bias:
            out[prefix + "k_proj.bias"] = b[E:2 * E]
        out[prefix + "v_proj.bias"] = b[2 * E:]
    out[prefix + "out_proj.weight"] = sd["out_proj.weight"]
    if "out_proj.bias" in sd:
        out[prefix + "out_proj.bias"] = sd["out_proj.bias"]
    return out


def make_case(name, description, E, H, B, Lq, Lkv, *, cross=False, kdim=None, vdim=None, bias=True,
              add_bias_kv=False, batch_first=True, unbatched=False, attn_mask=None, kpm=None,
              causal=False, naming="torch", prefix="", drop_k_bias=False, seed=0):
    torch.manual_seed(seed)
    mha = torch.nn.MultiheadAttention(E, H, bias=bias, add_bias_kv=add_bias_kv, kdim=kdim, vdim=vdim,
                                      batch_first=batch_first, dropout=0.0)
    with torch.no_grad():  # random biases (torch initialises them to zero)
        for pname, p in mha.named_parameters():
            if "bias" in pname:
                p.uniform_(-0.5, 0.5)
        if drop_k_bias:  # Whisper: k_proj has no bias, i.e. a zero bias
            mha.in_proj_bias[E:2 * E] = 0.0
    # Train mode with dropout 0: torch 1.13's eval fast path crashes for bias=False.
    mha.train()
    kd, vd = kdim or E, vdim or E

    def seq(L, F):
        if unbatched:
            return torch.randn(L, F)
        return torch.randn(B, L, F) if batch_first else torch.randn(L, B, F)

    q = seq(Lq, E)
    k = seq(Lkv, kd) if cross else q
    v = seq(Lkv, vd) if cross else q
    mask = None
    if attn_mask == "float2d":
        mask = torch.randn(Lq, Lkv)
        mask[0, 1] = float("-inf")
    elif attn_mask == "bool3d":
        mask = torch.rand(B * H, Lq, Lkv) < 0.3
        mask[:, :, 0] = False  # keep one key per row so torch 1.13 does not produce NaN
    if causal:  # what edgeattn's causal flag means, as torch's boolean mask
        mask = torch.triu(torch.ones(Lq, Lkv, dtype=torch.bool), diagonal=1)
    pad = None
    if kpm == "bool":
        pad = torch.zeros(B, Lkv, dtype=torch.bool)
        pad[-1, -2:] = True
        if unbatched:
            pad = pad[0]
    with torch.no_grad():
        y, w = mha(q, k, v, attn_mask=mask, key_padding_mask=pad, need_weights=True, average_attn_weights=True)

    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    sd = {kname: t.detach().numpy() for kname, t in mha.state_dict().items()}
    if naming == "huggingface":
        sd = huggingface_names(sd, prefix, drop_k_bias)
    else:
        sd = {prefix + kname: t for kname, t in sd.items()}
    write_safetensors(os.path.join(d, "weights.safetensors"), sd)
    np.save(os.path.join(d, "query.npy"), q.numpy())
    if cross:
        np.save(os.path.join(d, "key.npy"), k.numpy())
        np.save(os.path.join(d, "value.npy"), v.numpy())
    if mask is not None and not causal:
        np.save(os.path.join(d, "attn_mask.npy"), mask.numpy())
    if pad is not None:
        np.save(os.path.join(d, "key_padding_mask.npy"), pad.numpy())
    np.save(os.path.join(d, "out.npy"), y.numpy())
    np.save(os.path.join(d, "attn_weights.npy"), w.numpy())
    meta = {"description": description, "heads": H, "prefix": prefix, "causal": causal,
            "seq_first": not batch_first and not unbatched, "cross": cross,
            "generator": "tools/scripts/make_golden.py with torch " + torch.__version__}
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")


def make_gqa_case(name, description, E, H, G, B, L, prefix, seed):
    """Grouped-query self-attention with Hugging Face names and a narrower k_proj/v_proj
    ([G*head_dim, E]), as Llama-style models store it. torch.nn.MultiheadAttention has no GQA,
    so the expected output is computed here from torch ops, repeating each kv head for its
    H/G query heads (Hugging Face's repeat_kv)."""
    torch.manual_seed(seed)
    hd = E // H
    Wq, Wk, Wv, Wo = (torch.randn(E, E) * 0.1, torch.randn(G * hd, E) * 0.1,
                      torch.randn(G * hd, E) * 0.1, torch.randn(E, E) * 0.1)
    bq, bk, bv, bo = (torch.rand(E) - 0.5, torch.rand(G * hd) - 0.5, torch.rand(G * hd) - 0.5,
                      torch.rand(E) - 0.5)
    x = torch.randn(B, L, E)
    q = (x @ Wq.T + bq).view(B, L, H, hd).transpose(1, 2)
    k = (x @ Wk.T + bk).view(B, L, G, hd).transpose(1, 2).repeat_interleave(H // G, dim=1)
    v = (x @ Wv.T + bv).view(B, L, G, hd).transpose(1, 2).repeat_interleave(H // G, dim=1)
    p = torch.softmax(q @ k.transpose(-1, -2) / hd ** 0.5, dim=-1)
    y = (p @ v).transpose(1, 2).reshape(B, L, E) @ Wo.T + bo
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    tensors = {"q_proj.weight": Wq, "k_proj.weight": Wk, "v_proj.weight": Wv, "out_proj.weight": Wo,
               "q_proj.bias": bq, "k_proj.bias": bk, "v_proj.bias": bv, "out_proj.bias": bo}
    write_safetensors(os.path.join(d, "weights.safetensors"),
                      {prefix + n: t.numpy() for n, t in tensors.items()})
    np.save(os.path.join(d, "query.npy"), x.numpy())
    np.save(os.path.join(d, "out.npy"), y.numpy())
    np.save(os.path.join(d, "attn_weights.npy"), p.mean(dim=1).numpy())
    meta = {"description": description, "heads": H, "kv_heads": G, "prefix": prefix, "causal": False,
            "seq_first": False, "cross": False,
            "generator": "tools/scripts/make_golden.py with torch " + torch.__version__}
    with open(os.path.join(d, "case.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    make_case("torch_self_basic", "self-attention, in_proj_weight, biases, batch-first", 16, 4, 2, 5, 5, seed=1)
    make_case("torch_cross_kdim_vdim", "cross-attention, kdim=7 vdim=5 (q/k/v_proj_weight), bool key padding mask",
              12, 3, 2, 4, 6, cross=True, kdim=7, vdim=5, kpm="bool", seed=2)
    make_case("torch_seq_first_nobias_float_mask", "bias=False, batch_first=False, float attn_mask with -inf",
              8, 2, 3, 4, 4, bias=False, batch_first=False, attn_mask="float2d", seed=3)
    make_case("torch_add_bias_kv_bool3d", "add_bias_kv, cross-attention, bool [B*H, L, S] mask",
              8, 2, 2, 3, 5, cross=True, add_bias_kv=True, attn_mask="bool3d", seed=4)
    make_case("torch_causal", "causal flag (torch: upper-triangular bool mask), 3 heads", 24, 3, 1, 9, 9,
              causal=True, seed=5)
    make_case("torch_unbatched_prefix", "unbatched [L, E] input, tensors under a prefix, key padding mask [S]",
              16, 2, 1, 6, 6, unbatched=True, kpm="bool", prefix="encoder.layers.1.self_attn.", seed=6)
    make_case("hf_whisper_like", "Hugging Face names, k_proj without bias (Whisper), prefixed", 32, 4, 2, 7, 7,
              naming="huggingface", prefix="model.encoder.layers.0.self_attn.", drop_k_bias=True, seed=7)
    make_case("hf_cross", "Hugging Face names, cross-attention with all biases", 16, 2, 1, 3, 8, cross=True,
              naming="huggingface", prefix="decoder.layers.0.encoder_attn.", seed=8)
    # Sizes the kernels specialise and tile for: head widths 64 and 80, more than two key tiles
    # of every port (TK <= 128), grouped-query heads, cross-attention with kdim != vdim.
    make_case("torch_hd64_three_key_tiles", "head_dim 64 (2 heads), 260 tokens: past two key tiles, causal",
              128, 2, 1, 260, 260, causal=True, seed=9)
    make_case("torch_hd80_cross_kdim_vdim", "head_dim 80, cross-attention kdim=48 vdim=40 over 140 keys, "
              "bool key padding mask", 160, 2, 2, 12, 140, cross=True, kdim=48, vdim=40, kpm="bool", seed=10)
    make_gqa_case("hf_gqa_narrow_k_proj", "grouped-query attention: 8 query heads on 2 kv heads from a "
                  "Hugging Face k_proj/v_proj of [2*head_dim, E]", 128, 8, 2, 2, 40,
                  "model.layers.3.self_attn.", seed=11)
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(OUT) for f in fs)
    print(f"wrote {OUT} ({total} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
