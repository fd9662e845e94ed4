// What a file holds when mediabunny finds no video in it: containers it does not open (AVI, FLV, MPEG-PS)
// and video streams it skips (MPEG-1/2, MPEG-4 Part 2, VVC… in MPEG-TS), read from the first bytes, so that
// a refusal can name them.

/** Bytes read from the start of the file: enough for an MPEG-TS program map or an MPEG-PS video header. */
export const SNIFF_BYTES = 256 * 1024;

export interface Sniffed {
  /** The container, named when this app does not open it (AVI, FLV, MPEG-PS). */
  container?: string;
  /** The video codec of a stream the demuxer skipped. */
  codec?: string;
}

/** MPEG-TS stream_type → video codec (ISO/IEC 13818-1 table 2-34 and its amendments). */
const TS_VIDEO: Record<number, string> = {
  0x01: 'MPEG-1',
  0x02: 'MPEG-2',
  0x10: 'MPEG-4 Part 2',
  0x1b: 'H.264 (AVC)',
  0x24: 'HEVC (H.265)',
  0x33: 'VVC (H.266)',
  0x42: 'AVS',
  0xea: 'VC-1',
};

const ascii = (b: Uint8Array, at: number, n: number) => String.fromCharCode(...b.subarray(at, at + n));

export function sniffVideo(b: Uint8Array): Sniffed {
  if (ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 4) === 'AVI ') return { container: 'AVI' };
  if (ascii(b, 0, 3) === 'FLV') return { container: 'FLV' };
  if (b[0] === 0 && b[1] === 0 && b[2] === 1 && b[3] === 0xba) return { container: 'MPEG-PS', codec: mpegVideoCodec(b) };
  const codec = tsVideoCodec(b);
  return codec ? { codec } : {};
}

/** The first video stream's codec in an MPEG-TS program map table; undefined if `b` is not MPEG-TS. */
function tsVideoCodec(b: Uint8Array): string | undefined {
  // 188-byte packets, or 192 with a 4-byte timecode before each (M2TS).
  const [start, size] = b[0] === 0x47 && b[188] === 0x47 ? [0, 188] : b[4] === 0x47 && b[196] === 0x47 ? [4, 192] : [];
  if (start === undefined || size === undefined) return undefined;
  const pmtPids = new Set<number>();
  for (let p = start; p + 188 <= b.length; p += size) {
    if (b[p] !== 0x47 || !(b[p + 1] & 0x40)) continue; // only packets that start a section
    const pid = ((b[p + 1] & 0x1f) << 8) | b[p + 2];
    let at = p + 4 + ((b[p + 3] & 0x20) ? 1 + b[p + 4] : 0);
    at += 1 + b[at]; // pointer field
    const sectionEnd = Math.min(p + 188, at + 3 + (((b[at + 1] & 0x0f) << 8) | b[at + 2]) - 4);
    if (pid === 0 && b[at] === 0x00) {
      for (let e = at + 8; e + 4 <= sectionEnd; e += 4) {
        if (((b[e] << 8) | b[e + 1]) !== 0) pmtPids.add(((b[e + 2] & 0x1f) << 8) | b[e + 3]);
      }
    } else if (pmtPids.has(pid) && b[at] === 0x02) {
      for (let e = at + 12 + (((b[at + 10] & 0x0f) << 8) | b[at + 11]); e + 5 <= sectionEnd; e += 5 + (((b[e + 3] & 0x0f) << 8) | b[e + 4])) {
        if (TS_VIDEO[b[e]]) return TS_VIDEO[b[e]];
      }
    }
  }
  return undefined;
}

/**
 * MPEG-1/2 or MPEG-4 Part 2, from an elementary stream's start codes (an MPEG-PS, or an MP4 'mp4v' track's
 * packet): MPEG-4 has VOPs (00 00 01 B6) or a visual object sequence (B0); MPEG-1/2 a sequence header (B3), to
 * which MPEG-2 adds an extension (B5). Undefined if neither.
 */
export function mpegVideoCodec(b: Uint8Array): string | undefined {
  if (startCode(b, 0xb6) >= 0 || startCode(b, 0xb0) >= 0) return 'MPEG-4 Part 2';
  const sequence = startCode(b, 0xb3);
  if (sequence < 0) return undefined;
  return startCode(b, 0xb5, sequence) >= 0 ? 'MPEG-2' : 'MPEG-1';
}

function startCode(b: Uint8Array, code: number, from = 0): number {
  for (let i = from; i + 3 < b.length; i++) if (b[i] === 0 && b[i + 1] === 0 && b[i + 2] === 1 && b[i + 3] === code) return i;
  return -1;
}
