"""Write each fixture's explanations.safetensors: class-specific gradients and relevance, by autograd on the
independent PyTorch TimeSformer (scripts/torch/timesformer.py) in float64, stored as float32.

    /usr/bin/python3 scripts/torch/write-explanations.py fixtures/timesformer/*

For the top class and the runner-up c (space_only: ranked by the frame-averaged logits), with y_c the logit
of class c (space_only: the mean over frames of that logit):
- `grad_pixels.class.<c>` [1, T, 3, H, W] = ∂y_c / ∂pixel_values;
- `relevance.class.<c>` [1+N·T] (space_only [T, 1+N]): Chefer, Gur, Wolf, ICCV 2021, over every attention
  sub-layer s in forward order, with A_s its probabilities [sequences, H, len, len] and G_s = ∂y_c/∂A_s:
  Ā_s = mean over heads of max(0, G_s ⊙ A_s), lifted into token space (token 1 + p·T + t, CLS = 0) as E_s;
  R = I, R ← R + E_s·R; the relevance is R's CLS row (space_only: each frame's CLS row of its block).
The file also holds the clip's `pixel_values` (copied from expected.safetensors), so that
`npm run verify -- <model> <explanations.safetensors>` runs on it.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timesformer import load_model, read_safetensors  # noqa: E402


def lift(kind, fused, T, N):
    """E_s [S, S] in token space from a fused Ā_s [sequences, len, len] (divided and joint layouts)."""
    S = 1 + N * T
    E = torch.zeros(S, S, dtype=fused.dtype)
    if kind == 'full':  # joint: one sequence over every token
        return fused[0].clone()
    if kind == 'temporal':  # sequence p, positions t: tokens 1 + p·T + t
        for p in range(N):
            tokens = 1 + p * T + torch.arange(T)
            E[tokens.unsqueeze(1), tokens.unsqueeze(0)] = fused[p]
        return E
    assert kind == 'spatial'  # sequence t, positions 0 = CLS and 1 + p
    for t in range(T):
        m = torch.cat([torch.zeros(1, dtype=torch.long), 1 + torch.arange(N) * T + t])  # m_t
        E[m[1:].unsqueeze(1), m.unsqueeze(0)] = fused[t, 1:]
        E[0, m] += fused[t, 0]  # the shared CLS row sums the frames
    return E


def relevance(attentions, attention_type, T, N):
    """R's CLS row from every sub-layer's (A_s, G_s), in forward order."""
    fused = {name: (a.grad * a).clamp(min=0).mean(dim=1) for name, a in attentions.items()}
    if attention_type == 'space_only':  # block diagonal: one (1+N) block per frame
        R = torch.eye(1 + N, dtype=torch.float64).repeat(T, 1, 1)
        for E in fused.values():
            R = R + E @ R
        return R[:, 0]
    R = torch.eye(1 + N * T, dtype=torch.float64)
    for name, f in fused.items():
        R = R + lift(name.split('.')[-1], f, T, N) @ R
    return R[0]


def write_safetensors(path, tensors, metadata):
    header = {'__metadata__': metadata}
    blobs, offset = [], 0
    for name, t in tensors.items():
        blob = t.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header, separators=(',', ':'))
    text += ' ' * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text.encode() + b''.join(blobs))


def explain(folder):
    model = load_model(os.path.join(folder, 'model'), torch.float64)
    pixel_values = read_safetensors(os.path.join(folder, 'expected.safetensors'))['pixel_values']
    T, _, H, W = pixel_values.shape[1:]
    N = (H // model.patch) * (W // model.patch)
    with torch.no_grad():
        ranking = model(pixel_values).logits.mean(dim=0).argsort(descending=True)
    classes = [int(ranking[0]), int(ranking[1])]
    tensors = {'pixel_values': pixel_values}
    for c in classes:
        pixels = pixel_values.to(torch.float64).requires_grad_(True)
        out = model(pixels)
        out.logits[:, c].mean().backward()  # one row, or the mean over space_only's frames
        tensors[f'grad_pixels.class.{c}'] = pixels.grad
        tensors[f'relevance.class.{c}'] = relevance(out.attentions, model.attention_type, T, N)
    path = os.path.join(folder, 'explanations.safetensors')
    write_safetensors(path, tensors, {'written_by': 'scripts/torch/write-explanations.py (PyTorch autograd, float64)', 'classes': ','.join(map(str, classes))})
    return path, classes


if __name__ == '__main__':
    for folder in sys.argv[1:]:
        path, classes = explain(folder.rstrip('/'))
        print(f'{path}: classes {classes}')
