/**
 * CaptureRecorder: the CaptureSink of a run. Every frame recorded at a capture point goes to
 *  - one pcapng (`walk.pcapng`) with a named interface per capture point, the hop comment and the direction,
 *  - one classic nanosecond pcap per capture point (`<point>.pcap`), for tools that want one interface,
 *  - and, when asked, an in-memory index (point, direction, time, packet) for traces and pictures.
 * Interfaces are declared to the pcapng on their first frame, so the file lists only points that saw traffic.
 * Files are written to temporary names and renamed on close; `abort` leaves nothing behind.
 */

import { join } from 'node:path';
import { FileSink, MemorySink, type ByteSink } from '../../codecs/file-sink.js';
import { fileInside, safeFileName } from '../output/output-files.js';
import { PcapWriter } from '../../codecs/pcap.js';
import { PcapngWriter, type PcapngPacketOptions } from '../../codecs/pcapng.js';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import type { VirtualClock } from '../runtime/clock.js';
import type { CapturePointInfo, CaptureSink, Direction } from '../runtime/capture-sink.js';

/** One frame as seen at one capture point (kept only with `index: true`). */
export interface CapturedFrame {
  /** 1-based frame number in walk.pcapng. */
  number: number;
  point: number;
  direction: Direction;
  timeNs: number;
  walkIndex: number;
  length: number;
  comment?: string;
  /** A copy of the bytes (only with `keepBytes`). */
  bytes?: Uint8Array;
}

export interface CaptureRecorderOptions {
  /** Directory for files; omit to keep everything in memory (`memoryPcapng()`). */
  dir?: string;
  /** Also write one classic pcap per capture point (default true when writing to a directory). */
  perInterfacePcaps?: boolean;
  /** Keep an index of frames in memory (traces and pictures need it; bulk runs may turn it off). */
  index?: boolean;
  keepBytes?: boolean;
}

export class CaptureRecorder implements CaptureSink {
  readonly points: CapturePointInfo[] = [];
  readonly frames: CapturedFrame[] = [];
  /** Frames recorded per point. */
  readonly counts: number[] = [];
  private readonly pcapngSink: ByteSink;
  private readonly pcapng: PcapngWriter;
  private readonly ifIds: number[] = [];
  private readonly pcaps: (PcapWriter | undefined)[] = [];
  private readonly pcapSinks: (FileSink | undefined)[] = [];
  private readonly pcapNames: string[] = [];
  private readonly pcapNamesUsed = new Set<string>();
  private readonly opts: PcapngPacketOptions = {};
  private frameNumber = 0;
  private readonly pointNames = new Set<string>();
  /** Listing order of each point (register's `order`; the id when none was given). */
  private readonly orders: number[] = [];
  private closed = false;
  /** Whether frames are still added to the in-memory index (`options.index` until `stopIndexing`). */
  private indexing: boolean;
  /** Bytes written to every file (walk.pcapng and the per-point pcaps), known after close(). */
  bytesWritten = 0;

  constructor(
    readonly clock: VirtualClock,
    readonly options: CaptureRecorderOptions = {},
  ) {
    this.pcapngSink = options.dir ? new FileSink(join(options.dir, 'walk.pcapng')) : new MemorySink(1 << 16);
    this.pcapng = new PcapngWriter(this.pcapngSink);
    this.indexing = options.index === true;
  }

  /** Keep the frames indexed so far and index no more: a bulk run indexes its first conversations only, a long
   * replay keeps writing the files but not every frame in memory. */
  stopIndexing(): void {
    this.indexing = false;
  }

  register(info: CapturePointInfo, order?: number): number {
    // Capture point names must be unique in a file (two namespaces may have pods of the same name).
    let name = info.name;
    for (let n = 2; this.pointNames.has(name); n++) name = `${info.name}#${n}`;
    this.pointNames.add(name);
    this.points.push(name === info.name ? info : { ...info, name });
    this.counts.push(0);
    this.ifIds.push(-1);
    this.orders.push(order ?? this.points.length - 1);
    return this.points.length - 1;
  }

  /** Point ids in listing order (see CaptureSink.register). */
  pointIdsInOrder(): number[] {
    const ids = this.points.map((_, i) => i);
    return ids.sort((a, b) => this.orders[a]! - this.orders[b]! || a - b);
  }

  record(id: number, direction: Direction, pkt: PacketBuffer, comment: string | undefined): void {
    const ts = this.clock.now;
    let ifId = this.ifIds[id]!;
    if (ifId < 0) {
      const p = this.points[id]!;
      ifId = this.ifIds[id] = this.pcapng.addInterface({
        name: p.name,
        description: p.description,
        tsOffsetSec: this.clock.epochSeconds,
      });
    }
    const o = this.opts;
    o.comment = comment;
    o.direction = direction;
    this.pcapng.writePacketNow(ifId, this.clock, pkt.data, pkt.start, pkt.end, o);
    this.counts[id]!++;
    this.frameNumber++;
    if (this.options.dir && this.options.perInterfacePcaps !== false) {
      let w = this.pcaps[id];
      if (!w) {
        const sink = (this.pcapSinks[id] = new FileSink(fileInside(this.options.dir, this.pcapFileName(id))));
        w = this.pcaps[id] = new PcapWriter(sink, { resolution: 'ns', epochSeconds: this.clock.epochSeconds });
      }
      w.writePacket(ts, pkt.data, pkt.start, pkt.end);
    }
    if (this.indexing) {
      const f: CapturedFrame = {
        number: this.frameNumber,
        point: id,
        direction,
        timeNs: ts,
        walkIndex: pkt.walkIndex,
        length: pkt.length,
      };
      if (comment !== undefined) f.comment = comment;
      if (this.options.keepBytes) f.bytes = Uint8Array.from(pkt.frame());
      this.frames.push(f);
    }
  }

  /** The point's pcap file name: from its name, and distinct from every other point's (`a/b` and `a_b`). */
  private pcapFileName(id: number): string {
    const wanted = pcapFileNameFor(this.points[id]!.name);
    let name = wanted;
    for (let n = 2; this.pcapNamesUsed.has(name); n++) name = wanted.replace(/\.pcap$/, `_${n}.pcap`);
    this.pcapNamesUsed.add(name);
    this.pcapNames[id] = name;
    return name;
  }

  /** Names of the per-point pcap files written (after close). */
  pcapFiles(): string[] {
    const out: string[] = [];
    for (const i of this.pointIdsInOrder()) if (this.pcaps[i]) out.push(this.pcapNames[i]!);
    return out;
  }

  /** The pcapng bytes when recording in memory. */
  memoryPcapng(): Buffer {
    if (!(this.pcapngSink instanceof MemorySink)) throw new Error('recording to files; read walk.pcapng from disk');
    return this.pcapngSink.bytes();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.bytesWritten += this.pcapngSink.position;
    if (this.pcapngSink instanceof FileSink) this.pcapngSink.close();
    for (const s of this.pcapSinks) {
      if (!s) continue;
      this.bytesWritten += s.position;
      s.close();
    }
  }

  abort(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.pcapngSink instanceof FileSink) this.pcapngSink.abort();
    for (const s of this.pcapSinks) s?.abort();
  }
}

/**
 * A capture point's pcap file name: `worker-northeurope1-qt8l7/tun0` -> `worker-northeurope1-qt8l7_tun0.pcap`;
 * long names (a 253-character node name) are shortened with a hash, see safeFileName.
 */
export function pcapFileNameFor(pointName: string): string {
  return safeFileName(pointName, '.pcap');
}
