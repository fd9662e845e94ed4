import { describe, expect, it } from 'vitest';
import { hasRecoveryPoint } from '../../src/video/keyframes';
import { mpegVideoCodec, sniffVideo } from '../../src/video/sniff';

const bytes = (...parts: (string | number[])[]) => Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : p)));

/** One 188-byte MPEG-TS packet on `pid` that starts a section (pointer field 0), padded with 0xff. */
function tsPacket(pid: number, section: number[]): number[] {
  const packet = [0x47, 0x40 | (pid >> 8), pid & 0xff, 0x10, 0x00, ...section];
  return [...packet, ...new Array(188 - packet.length).fill(0xff)];
}

/** A PAT naming program 1 at PMT PID 0x1000, and that PMT with elementary streams of `streamTypes`. */
function transportStream(streamTypes: number[], packetSize = 188): Uint8Array {
  const section = (tableId: number, body: number[]) => [tableId, 0xb0, body.length + 4, ...body, 0, 0, 0, 0]; // CRC not checked
  const pat = section(0x00, [0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, 0x01, 0xf0, 0x00]);
  const streams = streamTypes.flatMap((type, i) => [type, 0xe1, 0x00 + i, 0xf0, 0x00]);
  const pmt = section(0x02, [0x00, 0x01, 0xc1, 0x00, 0x00, 0xe1, 0x00, 0xf0, 0x00, ...streams]);
  const prefix = packetSize === 192 ? [0, 0, 0, 0] : [];
  return Uint8Array.from([...prefix, ...tsPacket(0, pat), ...prefix, ...tsPacket(0x1000, pmt)]);
}

describe('sniffVideo', () => {
  it('names containers mediabunny does not open', () => {
    expect(sniffVideo(bytes('RIFF', [1, 2, 3, 4], 'AVI LIST'))).toEqual({ container: 'AVI' });
    expect(sniffVideo(bytes('FLV', [1, 5, 0, 0, 0, 9]))).toEqual({ container: 'FLV' });
  });

  it("reads the video codec from an MPEG-TS program map, after audio streams, in 188- and 192-byte packets", () => {
    expect(sniffVideo(transportStream([0x0f, 0x02]))).toEqual({ codec: 'MPEG-2' });
    expect(sniffVideo(transportStream([0x10]))).toEqual({ codec: 'MPEG-4 Part 2' });
    expect(sniffVideo(transportStream([0x33], 192))).toEqual({ codec: 'VVC (H.266)' });
    // Audio only: nothing to name.
    expect(sniffVideo(transportStream([0x0f]))).toEqual({});
  });

  it('tells MPEG-2 from MPEG-1 video in an MPEG-PS by the sequence extension', () => {
    const pack = [0, 0, 1, 0xba, 0x44, 0, 4, 0, 4, 1];
    const sequence = [0, 0, 1, 0xb3, 0x0a, 0x00, 0x78, 0x13];
    expect(sniffVideo(Uint8Array.from([...pack, 0, 0, 1, 0xe0, 0, 20, ...sequence, 0, 0, 1, 0xb5, 0x14]))).toEqual({ container: 'MPEG-PS', codec: 'MPEG-2' });
    expect(sniffVideo(Uint8Array.from([...pack, 0, 0, 1, 0xe0, 0, 20, ...sequence, 0, 0, 1, 0xb8]))).toEqual({ container: 'MPEG-PS', codec: 'MPEG-1' });
  });

  it('tells MPEG-4 Part 2 from MPEG-1/2 by its start codes (a VOP, even after a group-of-VOP header that looks like a sequence header)', () => {
    expect(mpegVideoCodec(Uint8Array.from([0, 0, 1, 0xb3, 0x00, 0x10, 0, 0, 1, 0xb6, 0x10]))).toBe('MPEG-4 Part 2');
    expect(mpegVideoCodec(Uint8Array.from([0, 0, 1, 0xb0, 0x01]))).toBe('MPEG-4 Part 2');
    expect(mpegVideoCodec(Uint8Array.from([0, 0, 1, 0xb3, 0x0a, 0, 0, 1, 0xb5, 0x14, 0, 0, 1, 0x00]))).toBe('MPEG-2');
    expect(mpegVideoCodec(Uint8Array.from([0, 0, 1, 0x00, 0x00]))).toBeUndefined();
  });

  it('knows nothing of other bytes', () => {
    expect(sniffVideo(bytes('This is a text file.'))).toEqual({});
    expect(sniffVideo(new Uint8Array(0))).toEqual({});
  });
});

describe('hasRecoveryPoint', () => {
  /** A 4-byte length-prefixed NAL unit. */
  const nal = (...body: number[]) => [0, 0, (body.length >> 8) & 0xff, body.length & 0xff, ...body];
  // SEI (type 6) with one recovery point message (payload type 6, 1 byte): recovery_frame_cnt ue(v), exact_match_flag.
  const recovery = (payload: number) => nal(0x06, 0x06, 0x01, payload, 0x80);
  const iSlice = nal(0x21, 0x88, 0x84); // nal_unit_type 1 (non-IDR slice)
  const idr = nal(0x25, 0x88, 0x84);
  const aud = nal(0x09, 0xf0);

  it('finds a recovery point at this frame (count 0, exact match) before the first slice', () => {
    // ue(0) = '1', exact_match_flag '1', broken_link '0', changing_slice_group_idc '00': 0b11000xxx.
    expect(hasRecoveryPoint(Uint8Array.from([...aud, ...recovery(0xc0), ...iSlice]), 4)).toBe(true);
  });

  it('refuses a recovery point some frames later, without exact match, or after the slice', () => {
    // ue(2) = '011', then exact_match_flag '1'.
    expect(hasRecoveryPoint(Uint8Array.from([...recovery(0x70), ...iSlice]), 4)).toBe(false);
    expect(hasRecoveryPoint(Uint8Array.from([...recovery(0x80), ...iSlice]), 4)).toBe(false);
    expect(hasRecoveryPoint(Uint8Array.from([...iSlice, ...recovery(0xc0)]), 4)).toBe(false);
    expect(hasRecoveryPoint(Uint8Array.from([...idr]), 4)).toBe(false);
  });

  it('skips other SEI messages and emulation prevention bytes, and reads 2-byte lengths', () => {
    // A user-data message (type 5) of 3 bytes, 00 00 01 (escaped as 00 00 03 01), then the recovery point.
    const sei = [0x06, 0x05, 0x03, 0x00, 0x00, 0x03, 0x01, 0x06, 0x01, 0xc0, 0x80];
    expect(hasRecoveryPoint(Uint8Array.from([...nal(...sei), ...iSlice]), 4)).toBe(true);
    const short = (body: number[]) => [0, body.length, ...body];
    expect(hasRecoveryPoint(Uint8Array.from([...short([0x06, 0x06, 0x01, 0xc0, 0x80]), ...short([0x21, 0x88])]), 2)).toBe(true);
  });
});
