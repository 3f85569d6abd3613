#!/usr/bin/env python3
"""Write a random-weight F16 GGUF with Llama-3.2-1B's shape.

Usage: PYTHONPATH=src/gguf-py python3 make_model.py src/models/ggml-vocab-llama-bpe.gguf model-f16.gguf
"""
import sys
import numpy as np
import gguf

VOCAB_SRC, OUT = sys.argv[1], sys.argv[2]
DIM, LAYERS, HEADS, KV_HEADS, HEAD_DIM, FFN, VOCAB = 2048, 16, 32, 8, 64, 8192, 128256
ARCH = "llama"

rng = np.random.default_rng(0)


def rand(*shape):
    a = rng.standard_normal(shape, dtype=np.float32)
    a *= 0.02
    return a.astype(np.float16)


def ones(n):
    return np.ones(n, dtype=np.float32)


src = gguf.GGUFReader(VOCAB_SRC)
w = gguf.GGUFWriter(OUT, ARCH)
w.add_name("random-llama-3.2-1b-shape")
w.add_context_length(131072)
w.add_embedding_length(DIM)
w.add_block_count(LAYERS)
w.add_feed_forward_length(FFN)
w.add_head_count(HEADS)
w.add_head_count_kv(KV_HEADS)
w.add_rope_dimension_count(HEAD_DIM)
w.add_rope_freq_base(500000.0)
w.add_layer_norm_rms_eps(1e-5)
w.add_file_type(gguf.LlamaFileType.MOSTLY_F16)

# copy all tokenizer.ggml.* keys (incl. vocab/merges) from the vocab GGUF
n_vocab_src = None
for key, f in src.fields.items():
    if not key.startswith("tokenizer."):
        continue
    vtype = f.types[0]
    sub = f.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
    val = f.contents()
    if key == "tokenizer.ggml.tokens":
        n_vocab_src = len(val)
    w.add_key_value(key, val, vtype, sub)
print("source vocab size:", n_vocab_src)
assert n_vocab_src == VOCAB, n_vocab_src
w.add_vocab_size(VOCAB)

# tied embeddings: no output.weight
w.add_tensor("token_embd.weight", rand(VOCAB, DIM))
w.add_tensor("output_norm.weight", ones(DIM))
for i in range(LAYERS):
    p = f"blk.{i}."
    w.add_tensor(p + "attn_norm.weight", ones(DIM))
    w.add_tensor(p + "attn_q.weight", rand(HEADS * HEAD_DIM, DIM))
    w.add_tensor(p + "attn_k.weight", rand(KV_HEADS * HEAD_DIM, DIM))
    w.add_tensor(p + "attn_v.weight", rand(KV_HEADS * HEAD_DIM, DIM))
    w.add_tensor(p + "attn_output.weight", rand(DIM, HEADS * HEAD_DIM))
    w.add_tensor(p + "ffn_norm.weight", ones(DIM))
    w.add_tensor(p + "ffn_gate.weight", rand(FFN, DIM))
    w.add_tensor(p + "ffn_up.weight", rand(FFN, DIM))
    w.add_tensor(p + "ffn_down.weight", rand(DIM, FFN))

w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
print("wrote", OUT)
