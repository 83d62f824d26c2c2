/**
 * FrameLog: the CaptureSink of one shard. Each frame becomes the pcapng Enhanced Packet Block the merged file
 * will hold, written to memory with the capture point's id as its interface id (the merge renumbers it), plus
 * an index entry (time, flow, sequence in the flow, offset) that orders it in the merge.
 *
 * Capture points are registered exactly as CaptureRecorder does (same names, `#2` for a repeated name, same
 * descriptions and if_tsoffset), so a merged file of one shard equals the recorder's walk.pcapng.
 */

import { MemorySink } from '../../codecs/file-sink.js';
import { PcapngWriter, type PcapngPacketOptions } from '../../codecs/pcapng.js';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import type { CapturePointInfo, CaptureSink, Direction } from '../runtime/capture-sink.js';
import type { VirtualClock } from '../runtime/clock.js';

/** Index fields per frame in `ShardFrames.index`. */
export const INDEX_STRIDE = 4;
export const IX_TIME = 0;
export const IX_FLOW = 1;
export const IX_SEQ = 2;
export const IX_OFFSET = 3;

/** The frames one shard captured in a batch, ready to move to another thread. */
export interface ShardFrames {
  shard: number;
  /** Enhanced Packet Blocks back to back; interface id = capture point id. */
  blocks: Uint8Array;
  /** INDEX_STRIDE numbers per frame, in capture order: time ns, flow, sequence in the flow, offset in `blocks`. */
  index: Float64Array;
}

export class FrameLog implements CaptureSink {
  readonly points: CapturePointInfo[] = [];
  private readonly pointNames = new Set<string>();
  private readonly sink = new MemorySink(1 << 20);
  private readonly pcapng: PcapngWriter;
  private readonly opts: PcapngPacketOptions = {};
  private index = new Float64Array(1 << 14);
  private frames = 0;
  /** The flow now running (set by the runner before each flow). */
  flow = -1;
  private seq = 0;
  private recording = false;

  constructor(private readonly clock: VirtualClock) {
    this.pcapng = new PcapngWriter(this.sink);
  }

  register(info: CapturePointInfo): number {
    if (this.recording) throw new Error('frame log: capture points must be registered before the first frame');
    let name = info.name;
    for (let n = 2; this.pointNames.has(name); n++) name = `${info.name}#${n}`;
    this.pointNames.add(name);
    const p = name === info.name ? info : { ...info, name };
    this.points.push(p);
    // Interface id = point id; only the EPBs are kept, so this IDB is dropped with the SHB at the first frame.
    this.pcapng.addInterface({ name: p.name, description: p.description, tsOffsetSec: this.clock.epochSeconds });
    return this.points.length - 1;
  }

  /** Start flow `i`: its frames are numbered from 0. */
  beginFlow(i: number): void {
    this.flow = i;
    this.seq = 0;
  }

  record(id: number, direction: Direction, pkt: PacketBuffer, comment: string | undefined): void {
    if (!this.recording) {
      this.sink.clear(); // the SHB and IDBs written while registering
      this.recording = true;
    }
    const offset = this.sink.position;
    const o = this.opts;
    o.comment = comment;
    o.direction = direction;
    this.pcapng.writePacketNow(id, this.clock, pkt.data, pkt.start, pkt.end, o);
    let ix = this.index;
    const at = this.frames * INDEX_STRIDE;
    if (at + INDEX_STRIDE > ix.length) {
      const grown = new Float64Array(ix.length * 2);
      grown.set(ix);
      ix = this.index = grown;
    }
    ix[at + IX_TIME] = this.clock.now;
    ix[at + IX_FLOW] = this.flow;
    ix[at + IX_SEQ] = this.seq++;
    ix[at + IX_OFFSET] = offset;
    this.frames++;
  }

  /** Frames logged since the last take. */
  get frameCount(): number {
    return this.frames;
  }

  /** Copy out what was logged (transferable buffers) and start empty. */
  take(shard: number): ShardFrames {
    const blocks = this.recording ? new Uint8Array(this.sink.bytes()) : new Uint8Array(0); // a copy with its own buffer
    const index = this.index.slice(0, this.frames * INDEX_STRIDE);
    if (this.recording) this.sink.clear();
    this.frames = 0;
    return { shard, blocks, index };
  }
}
