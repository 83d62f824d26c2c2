/**
 * Runtime: what every emulated host and port shares during a run — the virtual clock, the buffer pool, the
 * capture sink, per-packet traces, drop counters, the seeded randomness, and what a whole-walk cache needs: the
 * emulation's configuration version and the watch its hops report to (src/path-observer/). The cache itself (the
 * fast path) is injected by whoever builds the emulation: the data path does not know it.
 */

import { BufferPool, type PacketBuffer } from '../buffer/packet-buffer.js';
import type { CaptureSink, Direction } from './capture-sink.js';
import { ConfigVersion } from '../path-observer/config-version.js';
import type { PathCache } from '../path-observer/path-cache.js';
import { PathWatch } from '../path-observer/path-watch.js';
import { TraceRecorder } from '../trace/types.js';
import { VirtualClock } from './clock.js';
import { SeededRandom } from './rng.js';

/** One packet of a walk: who made it and the record of everything that happened to it. */
export interface WalkPacket {
  index: number;
  /** Host that created the packet (pod, node, external ...). */
  origin: string;
  /** What it is, e.g. "TCP SYN" or "ARP request", filled by the creator. */
  label: string;
  /** Virtual time of creation, ns. */
  createdNs: number;
  trace: TraceRecorder;
  /** How it ended: delivered to a host, dropped (with reason), or still in flight. */
  outcome?: { kind: 'delivered' | 'dropped' | 'consumed'; host: string; reason?: string };
}

/** Builds the emulation's whole-walk cache for its runtime (src/fastpath's `createFastPath`). */
export type PathCacheFactory = (runtime: Runtime) => PathCache;

export class Runtime {
  readonly clock = new VirtualClock();
  readonly pool = new BufferPool();
  private captureSink: CaptureSink | null = null;
  /** This emulation's configuration version: every part built for it bumps it on a change a cached walk may see. */
  readonly config = new ConfigVersion();
  /** Where this emulation's hops find the observer of the walk being recorded (the fast path's recorder), if any. */
  readonly watch = new PathWatch();
  /** The whole-walk cache (injected), or null when the run walks every packet. */
  readonly fastPath: PathCache | null;
  private links = 0;
  /** When true, every new packet gets a WalkPacket with a trace. */
  tracing = false;
  readonly packets: WalkPacket[] = [];
  /** Drop counters by `host: reason`. */
  readonly drops = new Map<string, number>();
  readonly rng: SeededRandom;

  constructor(
    readonly seed = 1,
    opts: { fastPath?: PathCacheFactory } = {},
  ) {
    this.rng = new SeededRandom(seed);
    this.fastPath = opts.fastPath ? opts.fastPath(this) : null;
  }

  /** Where capture points record, or null; attaching or detaching changes what a walk does (cached paths are void). */
  get capture(): CaptureSink | null {
    return this.captureSink;
  }

  set capture(sink: CaptureSink | null) {
    this.config.changed();
    this.captureSink = sink;
  }

  /**
   * Record a frame at capture point `tap` (capture must be attached): every capture point records through here, so
   * a path being recorded (fastpath/) notes the record too.
   */
  captureFrame(tap: number, direction: Direction, pkt: PacketBuffer, comment: string | undefined): void {
    this.captureSink!.record(tap, direction, pkt, comment);
    if (pkt.traced) this.packets[pkt.walkIndex]?.trace.markCapture();
    this.watch.observer?.capture(tap, direction, pkt, comment);
  }

  /** A number for a new link (the fast path keys frames by the link they were transmitted on). */
  nextLinkId(): number {
    return ++this.links;
  }

  /** Take a fresh buffer for a packet created by `origin`; it is traced when tracing is on. */
  newPacket(origin: string, label: string): PacketBuffer {
    this.watch.observer?.veto(`a new packet (${label})`);
    const pkt = this.pool.acquire();
    if (this.tracing) {
      const index = this.packets.length;
      const trace = new TraceRecorder();
      this.packets.push({ index, origin, label, createdNs: this.clock.now, trace });
      pkt.walkIndex = index;
      pkt.traced = true;
    }
    return pkt;
  }

  traceOf(pkt: PacketBuffer): TraceRecorder | undefined {
    return pkt.traced ? this.packets[pkt.walkIndex]?.trace : undefined;
  }

  /** A clone for a second copy of a frame (broadcast, multi-output); traced copies get their own record. */
  clonePacket(pkt: PacketBuffer, label: string): PacketBuffer {
    this.watch.observer?.veto('a copy of the packet');
    const copy = this.pool.acquire().copyFrom(pkt);
    if (pkt.traced) {
      const parent = this.packets[pkt.walkIndex]!;
      const index = this.packets.length;
      this.packets.push({
        index,
        origin: parent.origin,
        label: `${parent.label} (${label})`,
        createdNs: this.clock.now,
        trace: new TraceRecorder(),
      });
      copy.walkIndex = index;
    }
    return copy;
  }

  /**
   * One untraced packet whose outcome a caller wants (a replay past its trace limit): drop, consume and deliver
   * note how it ended in `watchedOutcome` (one pointer compare each; nothing allocated for other packets).
   */
  watched: PacketBuffer | null = null;
  watchedOutcome: WalkPacket['outcome'] | null = null;

  private noteWatched(kind: 'delivered' | 'dropped' | 'consumed', host: string, reason: string | undefined): void {
    this.watchedOutcome = reason === undefined ? { kind, host } : { kind, host, reason };
    this.watched = null;
  }

  /** Count and trace a drop, then return the buffer to the pool. */
  drop(pkt: PacketBuffer, host: string, reason: string): void {
    this.watch.observer?.veto('dropped');
    if (pkt === this.watched) this.noteWatched('dropped', host, reason);
    const key = `${host}: ${reason}`;
    this.drops.set(key, (this.drops.get(key) ?? 0) + 1);
    if (pkt.traced) {
      const wp = this.packets[pkt.walkIndex];
      if (wp) {
        wp.trace.add('drop', `drop: ${reason}`, { reason }, host);
        wp.outcome = { kind: 'dropped', host, reason };
      }
    }
    this.pool.release(pkt);
  }

  /** A frame a host looked at and had no use for (an ARP for someone else): not a drop, not a delivery. */
  consume(pkt: PacketBuffer, host: string, what: string): void {
    this.watch.observer?.veto('consumed');
    if (pkt === this.watched) this.noteWatched('consumed', host, what);
    if (pkt.traced) {
      const wp = this.packets[pkt.walkIndex];
      if (wp) {
        wp.trace.add('detail', what, undefined, host);
        wp.outcome = { kind: 'consumed', host, reason: what };
      }
    }
    this.pool.release(pkt);
  }

  /** Mark a packet as having reached its destination host, then release it. */
  deliver(pkt: PacketBuffer, host: string, what: string): void {
    this.watch.observer?.veto('delivered outside local delivery');
    if (pkt === this.watched) this.noteWatched('delivered', host, undefined);
    if (pkt.traced) {
      const wp = this.packets[pkt.walkIndex];
      if (wp) {
        wp.trace.add('deliver', `delivered to ${what}`, undefined, host);
        wp.outcome = { kind: 'delivered', host };
      }
    }
    this.pool.release(pkt);
  }
}
