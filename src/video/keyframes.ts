// Which packets a decoder can start from. mediabunny checks the bitstream of every packet a container calls a
// keyframe; for H.264 in Chromium it accepts only IDR frames, because Chromium's decoder once refused the
// other kind of keyframe: an I-frame with a recovery point SEI (recovery_frame_cnt 0, exact match; WebCodecs
// counts it as a key chunk since w3c/webcodecs#910). Chromium decodes those now (e2e/video.spec.ts), ffmpeg
// and players start from them, and files that have no other keyframe exist (phone recordings, open-GOP
// encodes cut without re-encoding): such a file would have no frame to start from.
import { EncodedPacketSink, type EncodedPacket, type InputVideoTrack } from 'mediabunny';

const SEI = 6;
const RECOVERY_POINT = 6;

/**
 * Let `track` (H.264) start decoding at its first keyframe when that is a recovery-point I-frame, wherever
 * mediabunny checks keyframes. Later ones are left as mediabunny judges them: decoding starts at an earlier
 * keyframe instead, because the frames after such a keyframe in decode order may refer to frames before it.
 */
export async function acceptRecoveryPointKeyframes(track: InputVideoTrack): Promise<void> {
  if ((await track.getCodec()) !== 'avc') return;
  const firstKey = await new EncodedPacketSink(track).getFirstKeyPacket({ metadataOnly: true });
  if (!firstKey) return;
  const description = (await track.getDecoderConfig())?.description;
  // Without avcC the packets are Annex B, where mediabunny parses SEIs the same way as here.
  if (!description) return;
  const bytes = ArrayBuffer.isView(description) ? new Uint8Array(description.buffer, description.byteOffset, description.byteLength) : new Uint8Array(description);
  const lengthSize = (bytes[4] & 3) + 1;
  const own = track.determinePacketType.bind(track);
  track.determinePacketType = async (packet: EncodedPacket) => {
    const type = await own(packet);
    return type === 'delta' && packet.sequenceNumber === firstKey.sequenceNumber && hasRecoveryPoint(packet.data, lengthSize) ? 'key' : type;
  };
}

/** Whether an H.264 access unit (NAL units with `lengthSize`-byte lengths) opens with a recovery point SEI at this frame, before its first slice. */
export function hasRecoveryPoint(data: Uint8Array, lengthSize: number): boolean {
  for (let at = 0; at + lengthSize < data.length; ) {
    let length = 0;
    for (let i = 0; i < lengthSize; i++) length = length * 256 + data[at + i];
    const nal = data.subarray(at + lengthSize, at + lengthSize + length);
    at += lengthSize + length;
    const type = nal[0] & 0x1f;
    if (type >= 1 && type <= 5) return false;
    if (type === SEI && seiRecoversHere(unescape(nal.subarray(1)))) return true;
  }
  return false;
}

/** SEI messages (payload type and size each as 0xff-continued bytes): is one a recovery point at this frame? */
function seiRecoversHere(rbsp: Uint8Array): boolean {
  let at = 0;
  const varByte = () => {
    let value = 0;
    while (at < rbsp.length) {
      const b = rbsp[at++];
      value += b;
      if (b !== 0xff) break;
    }
    return value;
  };
  while (at < rbsp.length - 1) {
    const payloadType = varByte();
    const payloadSize = varByte();
    if (payloadType === RECOVERY_POINT) {
      const bits = new BitReader(rbsp.subarray(at, at + payloadSize));
      return bits.expGolomb() === 0 && bits.bit() === 1;
    }
    at += payloadSize;
  }
  return false;
}

/** NAL payload without its emulation prevention bytes (00 00 03 → 00 00). */
function unescape(nal: Uint8Array): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < nal.length; i++) {
    if (i >= 2 && nal[i] === 3 && nal[i - 1] === 0 && nal[i - 2] === 0) continue;
    out.push(nal[i]);
  }
  return Uint8Array.from(out);
}

class BitReader {
  private at = 0;
  constructor(private readonly bytes: Uint8Array) {}
  bit(): number {
    const byte = this.bytes[this.at >> 3] ?? 0;
    return (byte >> (7 - (this.at++ & 7))) & 1;
  }
  expGolomb(): number {
    let zeros = 0;
    while (this.bit() === 0 && zeros < 32) zeros++;
    let value = 1;
    for (let i = 0; i < zeros; i++) value = value * 2 + this.bit();
    return value - 1;
  }
}
