"""An independent TimeSformer in plain PyTorch (no transformers): the forward pass of Hugging Face's
TimesformerForVideoClassification (divided_space_time, space_only, joint_space_time), written from
/work/shared/reference/timesformer.md, exposing every attention sub-layer's probabilities so that
autograd gives their gradients. Used to write the fixtures' explanation references and to check models.

    from timesformer import load_model
    model = load_model('fixtures/timesformer/tiny-divided/model', dtype=torch.float64)
    out = model(pixel_values)            # pixel_values [1, T, 3, H, W]
    out.logits                           # [1, labels]; space_only: [T, labels] (one row per frame, as HF)
    out.attentions['attn.0.temporal']    # probabilities in forward order; .grad after backward()

Check against the fixtures (run from the repository root with Debian's python3, which has torch 1.13):

    /usr/bin/python3 scripts/torch/timesformer.py fixtures/timesformer/*

Dimension key: T frames, N patches (p = row·Gw + col), D hidden, H heads, d = D/H.
Token layout (divided, joint): [CLS] + patches in (p, t) order, token 1 + p·T + t.
"""
import json
import os
import struct
import sys
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F

NUMPY_DTYPES = {'F64': np.float64, 'F32': np.float32, 'F16': np.float16, 'U8': np.uint8, 'I64': np.int64}


def read_safetensors(path):
    """name -> tensor (float16 stays float16; BF16 becomes float32), parsed by hand: header + frombuffer."""
    with open(path, 'rb') as f:
        data = f.read()
    (header_len,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + header_len])
    body = memoryview(data)[8 + header_len:]
    tensors = OrderedDict()
    for name, info in header.items():
        if name == '__metadata__':
            continue
        begin, end = info['data_offsets']
        if info['dtype'] == 'BF16':
            bits = np.frombuffer(body[begin:end], dtype=np.uint16).astype(np.uint32) << 16
            array = bits.view(np.float32)
        else:
            array = np.frombuffer(body[begin:end], dtype=NUMPY_DTYPES[info['dtype']])
        tensors[name] = torch.from_numpy(array.copy().reshape(info['shape']))
    return tensors


def read_weights(folder):
    """Every tensor of model.safetensors, or of the shards model.safetensors.index.json names."""
    index = os.path.join(folder, 'model.safetensors.index.json')
    if not os.path.exists(index):
        return read_safetensors(os.path.join(folder, 'model.safetensors'))
    with open(index) as f:
        shards = sorted(set(json.load(f)['weight_map'].values()))
    tensors = OrderedDict()
    for shard in shards:
        tensors.update(read_safetensors(os.path.join(folder, shard)))
    return tensors


class Output:
    def __init__(self, logits, attentions):
        self.logits = logits
        self.attentions = attentions


class TimeSformer:
    """Weights as a name -> tensor dict (Hugging Face's names), cast to `dtype`; forward in plain ops."""

    def __init__(self, config, weights, dtype=torch.float32):
        self.config = config
        self.attention_type = config.get('attention_type', 'divided_space_time')
        self.heads = config['num_attention_heads']
        self.patch = config['patch_size']
        self.eps = config.get('layer_norm_eps', 1e-6)
        self.layers = config['num_hidden_layers']
        self.w = {name: t.to(dtype) for name, t in weights.items()}
        self.dtype = dtype

    def p(self, name):
        return self.w[name]

    def linear(self, x, prefix):
        return F.linear(x, self.p(prefix + '.weight'), self.p(prefix + '.bias'))

    def norm(self, x, prefix):
        return F.layer_norm(x, x.shape[-1:], self.p(prefix + '.weight'), self.p(prefix + '.bias'), self.eps)

    def attention(self, x, prefix, name, attentions):
        """Multi-head self-attention over [G, S, D]; records the probabilities [G, H, S, S] as `name`."""
        G, S, D = x.shape
        H = self.heads
        qkv = self.linear(x, prefix + '.attention.qkv').reshape(G, S, 3, H, D // H).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]  # [G, H, S, d]
        probs = torch.softmax(q @ k.transpose(-2, -1) * (D // H) ** -0.5, dim=-1)
        if probs.requires_grad:
            probs.retain_grad()
        attentions[name] = probs
        context = (probs @ v).transpose(1, 2).reshape(G, S, D)
        return self.linear(context, prefix + '.output.dense')

    def embed(self, pixels):
        """pixels [T, 3, H, W] → [1, 1+N·T, D] (divided, joint) or [T, 1+N, D] (space_only)."""
        T = pixels.shape[0]
        e = 'timesformer.embeddings.'
        patches = F.conv2d(pixels, self.p(e + 'patch_embeddings.projection.weight'), self.p(e + 'patch_embeddings.projection.bias'), stride=self.patch)
        patches = patches.flatten(2).transpose(1, 2)  # [T, N, D]
        N, D = patches.shape[1], patches.shape[2]
        pos = self.p(e + 'position_embeddings')  # [1, 1+N, D]
        assert pos.shape[1] == 1 + N, f'the clip has {N} patches per frame, the checkpoint {pos.shape[1] - 1}'
        cls = self.p(e + 'cls_token').expand(T, 1, D)
        frames = torch.cat([cls, patches], dim=1) + pos  # [T, 1+N, D]
        if self.attention_type == 'space_only':
            return frames
        time = self.p(e + 'time_embeddings')  # [1, T, D]
        assert time.shape[1] == T, f'the clip has {T} frames, the checkpoint {time.shape[1]}'
        x = frames[:, 1:].transpose(0, 1) + time  # [N, T, D]
        return torch.cat([frames[:1, :1], x.reshape(1, N * T, D)], dim=1)

    def divided_layer(self, h, i, T, attentions):
        """One divided space-time layer's attention part: h [1, 1+N·T, D] → h + temporal + spatial."""
        prefix = f'timesformer.encoder.layer.{i}.'
        D = h.shape[-1]
        N = (h.shape[1] - 1) // T
        x = h[0, 1:].reshape(N, T, D)  # each patch's T tokens
        temporal = self.attention(self.norm(x, prefix + 'temporal_layernorm'), prefix + 'temporal_attention', f'attn.{i}.temporal', attentions)
        xt = x + self.linear(temporal, prefix + 'temporal_dense')  # [N, T, D]
        cls = h[0, :1]  # [1, D]
        spatial_in = torch.cat([cls.expand(T, 1, D), xt.transpose(0, 1)], dim=1)  # [T, 1+N, D]
        spatial = self.attention(self.norm(spatial_in, prefix + 'layernorm_before'), prefix + 'attention', f'attn.{i}.spatial', attentions)
        cls_out = cls + spatial[:, 0].mean(dim=0, keepdim=True)  # the frames' CLS outputs averaged
        patches_out = xt + spatial[:, 1:].transpose(0, 1)  # back to (p, t)
        return torch.cat([cls_out, patches_out.reshape(N * T, D)], dim=0).unsqueeze(0)

    def forward(self, pixel_values):
        """pixel_values [1, T, 3, H, W] → Output(logits, attentions in forward order)."""
        assert pixel_values.dim() == 5 and pixel_values.shape[0] == 1, 'pixel_values must be [1, T, 3, H, W]'
        pixels = pixel_values[0].to(self.dtype)
        T = pixels.shape[0]
        attentions = OrderedDict()
        h = self.embed(pixels)
        for i in range(self.layers):
            prefix = f'timesformer.encoder.layer.{i}.'
            if self.attention_type == 'divided_space_time':
                h = self.divided_layer(h, i, T, attentions)
            else:
                h = h + self.attention(self.norm(h, prefix + 'layernorm_before'), prefix + 'attention', f'attn.{i}.full', attentions)
            mlp = F.gelu(self.linear(self.norm(h, prefix + 'layernorm_after'), prefix + 'intermediate.dense'))
            h = h + self.linear(mlp, prefix + 'output.dense')
        last = self.norm(h, 'timesformer.layernorm')
        return Output(self.linear(last[:, 0], 'classifier'), attentions)

    __call__ = forward


def load_model(folder, dtype=torch.float32):
    with open(os.path.join(folder, 'config.json')) as f:
        config = json.load(f)
    return TimeSformer(config, read_weights(folder), dtype)


def rows_of(probs, n):
    """Rows 0 and ⌊n/2⌋ of each attention matrix, as the `.rows` references keep them."""
    return probs[..., [0, n // 2], :]


def check_fixture(folder):
    """Max abs error of logits and every attention against the fixture's expected.safetensors, in f32 and f64."""
    expected = read_safetensors(os.path.join(folder, 'expected.safetensors'))
    errors = {}
    for dtype in (torch.float32, torch.float64):
        model = load_model(os.path.join(folder, 'model'), dtype)
        with torch.no_grad():
            out = model(expected['pixel_values'])
        worst = {'logits': (out.logits - expected['logits'].to(dtype)).abs().max().item(), 'attn': 0.0}
        for name, probs in out.attentions.items():
            if name in expected:
                ref = expected[name]
            else:
                ref = expected[name + '.rows']
                probs = rows_of(probs, probs.shape[-1])
            assert probs.shape == ref.shape, (name, probs.shape, ref.shape)
            worst['attn'] = max(worst['attn'], (probs - ref.to(dtype)).abs().max().item())
        errors[str(dtype).replace('torch.', '')] = worst
    return errors


if __name__ == '__main__':
    failed = False
    for folder in sys.argv[1:]:
        errors = check_fixture(folder)
        ok = all(e['logits'] < 1e-4 and e['attn'] < 1e-5 for e in errors.values())
        failed |= not ok
        print(os.path.basename(folder.rstrip('/')), ' '.join(f"{k}: logits {e['logits']:.2e} attn {e['attn']:.2e}" for k, e in errors.items()), 'pass' if ok else 'FAIL')
    sys.exit(1 if failed else 0)
