"""Seeded random TimeSformer models at the shapes that outgrow WebGPU's baseline limits (issue 20), with expected
logits from the independent PyTorch forward (scripts/torch/timesformer.py, float64), for `npm run verify`:

    hr-2layer  16 frames of 448² (TimeSformer-HR's shapes: 12 545 tokens, a 154 MB MLP activation)
    l-2layer   96 frames of 224² (TimeSformer-L's shapes: 18 817 tokens, a 231 MB MLP activation)

Both divided space-time at base width (768 hidden, 12 heads, 3072 intermediate, 400 labels), two layers.
Each lands in tier-models/<name>/ (gitignored) in the fixtures' layout: model/config.json,
model/model.safetensors (Hugging Face's names, float32) and expected.safetensors (pixel_values [1, T, 3, H, W],
logits [1, 400]). Run from the repository root with Debian's python3 (torch 1.13):

    /usr/bin/python3 scripts/make-tier-models.py [hr-2layer] [l-2layer]
    npm run verify -- tier-models/hr-2layer/model tier-models/hr-2layer/expected.safetensors --backend wgsl --baseline-device
"""
import json
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), 'torch'))
from timesformer import TimeSformer  # noqa: E402

MODELS = {'hr-2layer': (16, 448), 'l-2layer': (96, 224)}
D, HEADS, FF, LAYERS, LABELS, PATCH = 768, 12, 3072, 2, 400, 16


def config(frames, image):
    return {
        'architectures': ['TimesformerForVideoClassification'],
        'model_type': 'timesformer',
        'attention_type': 'divided_space_time',
        'dtype': 'float32',
        'hidden_act': 'gelu',
        'hidden_size': D,
        'num_attention_heads': HEADS,
        'intermediate_size': FF,
        'num_hidden_layers': LAYERS,
        'image_size': image,
        'num_frames': frames,
        'patch_size': PATCH,
        'num_channels': 3,
        'layer_norm_eps': 1e-6,
        'qkv_bias': True,
        'id2label': {str(i): f'class_{i}' for i in range(LABELS)},
        'label2id': {f'class_{i}': i for i in range(LABELS)},
    }


def random_weights(frames, image, seed):
    """Every parameter random (normal, seeded); qkv scaled up so that attention is far from uniform."""
    g = torch.Generator().manual_seed(seed)
    n = (image // PATCH) ** 2
    normal = lambda *shape, std=0.02: torch.randn(*shape, generator=g) * std  # noqa: E731
    e = 'timesformer.embeddings.'
    w = {
        e + 'cls_token': normal(1, 1, D),
        e + 'position_embeddings': normal(1, 1 + n, D),
        e + 'time_embeddings': normal(1, frames, D),
        e + 'patch_embeddings.projection.weight': normal(D, 3, PATCH, PATCH),
        e + 'patch_embeddings.projection.bias': normal(D),
    }

    def linear(name, out, inp, std=0.02):
        w[name + '.weight'] = normal(out, inp, std=std)
        w[name + '.bias'] = normal(out)

    def norm(name):
        w[name + '.weight'] = 1 + normal(D, std=0.1)
        w[name + '.bias'] = normal(D)

    for i in range(LAYERS):
        p = f'timesformer.encoder.layer.{i}.'
        norm(p + 'temporal_layernorm')
        linear(p + 'temporal_attention.attention.qkv', 3 * D, D, std=0.08)
        linear(p + 'temporal_attention.output.dense', D, D)
        linear(p + 'temporal_dense', D, D)
        norm(p + 'layernorm_before')
        linear(p + 'attention.attention.qkv', 3 * D, D, std=0.08)
        linear(p + 'attention.output.dense', D, D)
        norm(p + 'layernorm_after')
        linear(p + 'intermediate.dense', FF, D)
        linear(p + 'output.dense', D, FF)
    norm('timesformer.layernorm')
    linear('classifier', LABELS, D)
    return w


def write_safetensors(path, tensors):
    """float32 tensors, in order, each 8-byte aligned (the header padded with spaces to a multiple of 8)."""
    header, offset, blobs = {}, 0, []
    for name, t in tensors.items():
        data = t.to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(',', ':')).encode()
    text += b' ' * (-len(text) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text)
        for blob in blobs:
            f.write(blob)


def make(name, seed):
    frames, image = MODELS[name]
    folder = os.path.join('tier-models', name)
    os.makedirs(os.path.join(folder, 'model'), exist_ok=True)
    cfg = config(frames, image)
    weights = random_weights(frames, image, seed)
    with open(os.path.join(folder, 'model', 'config.json'), 'w') as f:
        json.dump(cfg, f, indent=2)
    write_safetensors(os.path.join(folder, 'model', 'model.safetensors'), weights)
    # A normalized clip: smooth colour ramps moving over the frames, plus noise (values within about ±2).
    g = torch.Generator().manual_seed(seed + 1)
    t = torch.arange(frames).view(frames, 1, 1, 1) / frames
    y = torch.arange(image).view(1, 1, image, 1) / image
    x = torch.arange(image).view(1, 1, 1, image) / image
    c = torch.arange(3).view(1, 3, 1, 1)
    pixels = (torch.sin(6.28 * (x + t) + c) + torch.cos(6.28 * (y - t) * (c + 1)) + 0.2 * torch.randn(frames, 3, image, image, generator=g)).unsqueeze(0)
    model = TimeSformer(cfg, weights, torch.float64)
    with torch.no_grad():
        logits = model(pixels.to(torch.float64)).logits
    write_safetensors(os.path.join(folder, 'expected.safetensors'), {'pixel_values': pixels, 'logits': logits})
    print(f'{folder}: {frames}×{image}², logits in [{logits.min():.3f}, {logits.max():.3f}]')


if __name__ == '__main__':
    for name in sys.argv[1:] or list(MODELS):
        if name not in MODELS:
            sys.exit(f'unknown model {name} (have {", ".join(MODELS)})')
        make(name, 20 + list(MODELS).index(name))
