// The on-disk frame around every WAL record: u32 length, u32 CRC-32C, u8 type, payload.
// The CRC covers the length field too, so a flipped length bit is caught rather than followed.
import { crc32c } from './crc32c.js';

export const FRAME_HEADER_BYTES = 8;
/** A record larger than this is treated as garbage: no legitimate Ready or header comes close. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

export type FrameRead =
  | { kind: 'ok'; type: number; payload: Buffer; next: number }
  /** The frame runs past the end of the buffer: what a crash mid-append leaves behind. */
  | { kind: 'short' }
  /** Checksum, length or type is wrong. */
  | { kind: 'bad'; why: string };

/** Writes one frame for `payload` at `out[at]`; returns the offset after it. */
export function writeFrame(out: Buffer, at: number, type: number, payload: Uint8Array): number {
  const len = 1 + payload.length;
  out.writeUInt32LE(len, at);
  out[at + FRAME_HEADER_BYTES] = type;
  out.set(payload, at + FRAME_HEADER_BYTES + 1);
  const end = at + FRAME_HEADER_BYTES + len;
  const crc = crc32c(out, crc32c(out, 0, at, at + 4), at + FRAME_HEADER_BYTES, end);
  out.writeUInt32LE(crc, at + 4);
  return end;
}

export function frameSize(payloadBytes: number): number {
  return FRAME_HEADER_BYTES + 1 + payloadBytes;
}

/** Reads the frame at `at`; `isKnownType` rejects type bytes no writer produces. */
export function readFrame(buf: Buffer, at: number, isKnownType: (type: number) => boolean): FrameRead {
  if (buf.length - at < FRAME_HEADER_BYTES + 1) return { kind: 'short' };
  const len = buf.readUInt32LE(at);
  if (len === 0 || len > MAX_RECORD_BYTES) return { kind: 'bad', why: `implausible record length ${len}` };
  const end = at + FRAME_HEADER_BYTES + len;
  if (end > buf.length) return { kind: 'short' };
  const type = buf[at + FRAME_HEADER_BYTES] as number;
  if (!isKnownType(type)) return { kind: 'bad', why: `unknown record type ${type}` };
  const want = buf.readUInt32LE(at + 4);
  const got = crc32c(buf, crc32c(buf, 0, at, at + 4), at + FRAME_HEADER_BYTES, end);
  if (want !== got) return { kind: 'bad', why: 'checksum mismatch' };
  return { kind: 'ok', type, payload: buf.subarray(at + FRAME_HEADER_BYTES + 1, end), next: end };
}

/**
 * True if any complete, checksummed frame starts anywhere in `buf[from, end)`. Used to tell a torn
 * tail (nothing valid after the damage) from damage in the middle (valid records follow it).
 */
export function anyValidFrameAfter(buf: Buffer, from: number, isKnownType: (type: number) => boolean): number | null {
  for (let at = from; at + FRAME_HEADER_BYTES + 1 <= buf.length; at++) {
    const len = buf.readUInt32LE(at);
    // Cheap rejections first: most garbage offsets fail on length or type before any CRC work.
    if (len === 0 || at + FRAME_HEADER_BYTES + len > buf.length) continue;
    if (!isKnownType(buf[at + FRAME_HEADER_BYTES] as number)) continue;
    if (readFrame(buf, at, isKnownType).kind === 'ok') return at;
  }
  return null;
}
