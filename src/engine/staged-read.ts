// Reading GPU buffers back: ranges of storage buffers copied into staging buffers (MAP_READ), mapped and joined
// into one array. A staging buffer is a buffer too (at most maxBufferSize), so a read-back larger than one (a
// tensor of attention probabilities in parts, TimeSformer-HR's 473 MB) is staged in several.
import type { Piece } from './sequence-chunks';

/** The sizes of the staging buffers `bytes` (each piece's, in order) are packed into, each at most `maxBytes`. */
export function stagingSizes(bytes: number[], maxBytes: number): number[] {
  const max = Math.floor(maxBytes / 4) * 4;
  const total = bytes.reduce((n, b) => n + b, 0);
  const sizes: number[] = [];
  for (let left = total; left > 0 || sizes.length === 0; left -= max) sizes.push(Math.min(max, left));
  return sizes;
}

interface Copy {
  src: GPUBuffer;
  srcOffset: number;
  staging: number;
  dstOffset: number;
  size: number;
}

/** `pieces` (byte ranges, multiples of 4) staged in order, back to back, in staging buffers of at most `maxBytes`. */
export class StagedRead {
  readonly stagings: GPUBuffer[];
  private readonly copies: Copy[] = [];

  constructor(
    private readonly device: GPUDevice,
    label: string,
    private readonly pieces: Piece[],
    private readonly maxBytes: number,
  ) {
    const sizes = stagingSizes(pieces.map((p) => p.bytes), maxBytes);
    this.stagings = sizes.map((size, k) => device.createBuffer({ label: sizes.length === 1 ? `${label} staging` : `${label} staging ${k}`, size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }));
    let staging = 0, at = 0;
    for (const p of pieces) {
      for (let done = 0; done < p.bytes; ) {
        if (at === sizes[staging]) [staging, at] = [staging + 1, 0];
        const size = Math.min(p.bytes - done, sizes[staging] - at);
        this.copies.push({ src: p.buffer, srcOffset: p.offset + done, staging, dstOffset: at, size });
        done += size;
        at += size;
      }
    }
  }

  /** The same pieces staged in buffers of their own (a batch's clips, each read after one submission). */
  again(label: string): StagedRead {
    return new StagedRead(this.device, label, this.pieces, this.maxBytes);
  }

  /** Record the copies into the staging buffers. */
  encode(encoder: GPUCommandEncoder) {
    for (const c of this.copies) encoder.copyBufferToBuffer(c.src, c.srcOffset, this.stagings[c.staging], c.dstOffset, c.size);
  }

  /** After the copies ran: every staged byte, in order (the staging buffers unmapped again). */
  async read(): Promise<ArrayBuffer> {
    await Promise.all(this.stagings.map((s) => s.mapAsync(GPUMapMode.READ)));
    if (this.stagings.length === 1) {
      const bytes = this.stagings[0].getMappedRange().slice(0);
      this.stagings[0].unmap();
      return bytes;
    }
    const all = new Uint8Array(this.stagings.reduce((n, s) => n + s.size, 0));
    let at = 0;
    for (const s of this.stagings) {
      all.set(new Uint8Array(s.getMappedRange()), at);
      at += s.size;
      s.unmap();
    }
    return all.buffer;
  }

  destroy() {
    for (const s of this.stagings) s.destroy();
  }
}
