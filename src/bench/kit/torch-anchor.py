# The PyTorch anchor for the GPU benchmark kit: Hugging Face transformers' TimesformerForVideoClassification
# with random weights at the kit's base and HR shapes, one view, batch 1, on the machine's CUDA GPU, so that
# our engine's ms per view has a same-machine, same-run reference. Eager mode, fp32 (TF32 off, PyTorch's
# default for matmuls) and fp16. Median of N runs after warm-ups, timed with CUDA events.
#
#   python3 torch-anchor.py [--models base,hr] [--iterations 20] [--out anchor.json]
import argparse, json, statistics, sys, time

import torch
from transformers import TimesformerConfig, TimesformerForVideoClassification

SHAPES = {'base': dict(num_frames=8, image_size=224), 'hr': dict(num_frames=16, image_size=448)}


def time_view(model, pixels, iterations):
    with torch.inference_mode():
        for _ in range(3):
            model(pixel_values=pixels)
        torch.cuda.synchronize()
        times = []
        for _ in range(iterations):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            model(pixel_values=pixels)
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end))
    return statistics.median(times), min(times), max(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--models', default='base,hr')
    parser.add_argument('--iterations', type=int, default=20)
    parser.add_argument('--out', default='')
    args = parser.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    device = torch.device('cuda')
    rows = []
    print(f'PyTorch {torch.__version__} on {torch.cuda.get_device_name()}, eager, batch 1, median of {args.iterations}')
    for name in args.models.split(','):
        shape = SHAPES[name]
        torch.manual_seed(0)
        config = TimesformerConfig(**shape, num_labels=400, attention_type='divided_space_time')
        model = TimesformerForVideoClassification(config).eval().to(device)
        pixels = torch.randn(1, shape['num_frames'], 3, shape['image_size'], shape['image_size'], device=device)
        for dtype in (torch.float32, torch.float16):
            t0 = time.perf_counter()
            m = model.to(dtype)
            ms, lo, hi = time_view(m, pixels.to(dtype), args.iterations)
            label = f"timesformer-{name} {shape['num_frames']}×{shape['image_size']}² per view: pytorch eager {str(dtype).removeprefix('torch.')}"
            print(f'{label:<60} {ms:9.2f} ms  (min {lo:.2f}, max {hi:.2f}; {time.perf_counter() - t0:.1f} s)', flush=True)
            rows.append(dict(model=name, dtype=str(dtype).removeprefix('torch.'), ms=ms, minMs=lo, maxMs=hi))
        del model, m
        torch.cuda.empty_cache()
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(runtime=f'PyTorch {torch.__version__}', device=torch.cuda.get_device_name(), results=rows), f, indent=2)


if __name__ == '__main__':
    sys.exit(main())
