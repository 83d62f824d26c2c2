/**
 * Merge the shards' frames into one pcapng, as mergecap does: by timestamp, ties broken by flow number and
 * then by the frame's place in its flow, so the order (and the file) is a function of the frames alone, never
 * of which worker produced them or when. Interfaces are declared on their first frame, in merged order, as
 * CaptureRecorder does.
 *
 * Each shard's frames arrive already in that order (a shard runs its flows one after another on a clock that
 * only moves forward), so this is a k-way merge of sorted streams; a stream out of order is an error.
 */

import type { ByteSink } from '../../codecs/file-sink.js';
import { PcapngWriter } from '../../codecs/pcapng.js';
import type { CapturePointInfo } from '../runtime/capture-sink.js';
import { INDEX_STRIDE, IX_FLOW, IX_OFFSET, IX_SEQ, IX_TIME, type ShardFrames } from './frame-log.js';

/** Negative, zero or positive as frame a of stream sa sorts before, with, or after frame b of stream sb. */
function compareFrames(sa: Float64Array, a: number, sb: Float64Array, b: number): number {
  return (
    sa[a + IX_TIME]! - sb[b + IX_TIME]! || sa[a + IX_FLOW]! - sb[b + IX_FLOW]! || sa[a + IX_SEQ]! - sb[b + IX_SEQ]!
  );
}

function readU32LE(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

function writeU32LE(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
  b[o + 2] = v >>> 16;
  b[o + 3] = v >>> 24;
}

/** Writes the merged capture: SHB at construction, then `write()` per set of shard streams. */
export class MergedCaptureWriter {
  private readonly pcapng: PcapngWriter;
  /** Merged interface id per capture point (-1: not declared yet). */
  private readonly ifIds: number[];
  /** Frames written so far. */
  frames = 0;

  constructor(
    private readonly sink: ByteSink,
    private readonly points: readonly CapturePointInfo[],
    private readonly epochSeconds: number,
  ) {
    this.pcapng = new PcapngWriter(sink);
    this.ifIds = points.map(() => -1);
  }

  /**
   * Merge `streams` (each sorted, see above) into the file. Every frame of these streams must come after every
   * frame written by an earlier call (callers merge a whole run at once, or runs that do not overlap in time).
   */
  write(streams: readonly ShardFrames[]): number {
    const n = streams.length;
    const pos = new Int32Array(n);
    const ends = streams.map((s) => s.index.length);
    const blocks = streams.map((s) => Buffer.from(s.blocks.buffer, s.blocks.byteOffset, s.blocks.byteLength));
    for (const s of streams) checkSorted(s);
    let written = 0;
    for (;;) {
      let best = -1;
      for (let i = 0; i < n; i++) {
        if (pos[i]! >= ends[i]!) continue;
        if (best < 0 || compareFrames(streams[i]!.index, pos[i]!, streams[best]!.index, pos[best]!) < 0) best = i;
      }
      if (best < 0) break;
      this.copyBlock(blocks[best]!, streams[best]!.index[pos[best]! + IX_OFFSET]!);
      pos[best]! += INDEX_STRIDE;
      written++;
    }
    this.frames += written;
    return written;
  }

  /** Append one EPB from a shard, with its interface id renumbered for this file. */
  private copyBlock(src: Buffer, offset: number): void {
    const point = readU32LE(src, offset + 8);
    const total = readU32LE(src, offset + 4);
    let ifId = this.ifIds[point];
    if (ifId === undefined)
      throw new Error(
        `merge: frame at byte ${offset} names capture point ${point}, but there are ${this.points.length}`,
      );
    if (ifId < 0) {
      const p = this.points[point]!;
      ifId = this.ifIds[point] = this.pcapng.addInterface({
        name: p.name,
        description: p.description,
        tsOffsetSec: this.epochSeconds,
      });
    }
    const o = this.sink.reserve(total);
    src.copy(this.sink.buf, o, offset, offset + total);
    writeU32LE(this.sink.buf, o + 8, ifId);
  }
}

function checkSorted(s: ShardFrames): void {
  const ix = s.index;
  for (let a = INDEX_STRIDE; a < ix.length; a += INDEX_STRIDE) {
    if (compareFrames(ix, a - INDEX_STRIDE, ix, a) >= 0)
      throw new Error(
        `merge: shard ${s.shard} frames ${a / INDEX_STRIDE - 1} and ${a / INDEX_STRIDE} are out of order`,
      );
  }
}
