/**
 * A warm emulated data path to inject packets into, for the walk and scale benchmarks.
 *
 * The conversation runs once with runFlow (as a scenario would), so ARP caches, conntrack entries and the
 * sockets exist; the capture of that run, with bytes, gives the frame to inject: the client's last pure ACK as
 * it left the pod's eth0. Injected again and again at that eth0, it crosses every hop of the scenario's path
 * (veth, br0, tun0 and iptables where the path has them, vxlan0, the underlay, the peer's br0 and veth) and is
 * delivered to the server's socket layer, which has nothing to say to a bare ACK: no answer, no second packet.
 * One injected frame is therefore one packet with all its hops, and `check()` proves that before timing.
 */

import { ipv4ToString, readU16 } from '../codecs/bytes.js';
import { ETHERNET_HEADER_LEN, ETHERTYPE_IPV4 } from '../codecs/ethernet.js';
import { IPPROTO_TCP } from '../codecs/ipv4.js';
import { TCP_ACK } from '../codecs/tcp.js';
import { MemorySink } from '../codecs/file-sink.js';
import { PcapngWriter } from '../codecs/pcapng.js';
import type { PacketBuffer } from '../src/buffer/packet-buffer.js';
import { attachCapture } from '../src/capture/attach.js';
import type { CapturePointInfo, CaptureSink, Direction } from '../src/runtime/capture-sink.js';
import type { Cluster } from '../src/cluster/types.js';
import type { PodInstance } from '../src/node/emulated-node.js';
import { createFastPath } from '../src/fastpath/fast-path.js';
import { Emulation } from '../src/node/emulation.js';
import type { PathCacheFactory, Runtime } from '../src/runtime/runtime.js';
import type { FlowSpec } from '../src/walk/flow.js';
import { runFlow } from '../src/walk/flow.js';

/** An emulation with one conversation done, and the frame that replays it. */
export interface WarmPath {
  emulation: Emulation;
  runtime: Runtime;
  /** The client pod, where frames are injected (its eth0 transmits them). */
  source: PodInstance;
  /** The client's established-flow frame (Ethernet, as captured at its eth0). */
  frame: Uint8Array;
  /** Capture points the frame crossed in the warm-up run (one walk packet = this many records when capturing). */
  hops: number;
  /** pcapng bytes one walk packet adds to a capture file (all its records). */
  pcapngBytes: number;
}

/** The pod a flow starts from (walk benchmarks only use pod clients). */
function sourcePod(emu: Emulation, spec: FlowSpec): PodInstance {
  const from = spec.from;
  if (from.kind !== 'pod') throw new Error(`walk benchmark needs a pod client, got ${from.kind}`);
  const pod = emu.cluster.pods.find((p) => p.namespace === from.namespace && p.name === from.name);
  const inst = pod && emu.node(pod.node).pods.get(`${from.namespace}/${from.name}`);
  if (!inst) throw new Error(`no pod-network pod ${from.namespace}/${from.name}`);
  return inst;
}

/**
 * The warm-up's capture: every frame's bytes in memory, and the pcapng records they would make. Registering is
 * O(1) per point (clusters of the growth sweep have tens of thousands of ports).
 */
class WarmupCapture implements CaptureSink {
  readonly frames: { point: number; direction: Direction; bytes: Uint8Array }[] = [];
  private readonly sink = new MemorySink(1 << 16);
  private readonly pcapng = new PcapngWriter(this.sink);
  private readonly ifIds: number[] = [];
  private readonly names: string[] = [];

  register(info: CapturePointInfo): number {
    this.names.push(info.name);
    this.ifIds.push(-1);
    return this.ifIds.length - 1;
  }

  record(id: number, direction: Direction, pkt: PacketBuffer, comment: string | undefined): void {
    this.frames.push({ point: id, direction, bytes: Uint8Array.from(pkt.frame()) });
    if (this.ifIds[id]! < 0) this.ifIds[id] = this.pcapng.addInterface({ name: this.names[id]! });
    this.pcapng.writePacket(this.ifIds[id]!, 0, pkt.data, pkt.start, pkt.end, { comment, direction });
  }

  /** pcapng bytes written so far. */
  get bytes(): number {
    return this.sink.position;
  }
}

function isPureAck(f: Uint8Array): boolean {
  if (
    f.length < ETHERNET_HEADER_LEN + 40 ||
    readU16(f, 12) !== ETHERTYPE_IPV4 ||
    f[ETHERNET_HEADER_LEN + 9] !== IPPROTO_TCP
  )
    return false;
  const ip = ETHERNET_HEADER_LEN,
    l4 = ip + ((f[ip]! & 0x0f) << 2);
  const payload = readU16(f, ip + 2) - (l4 - ip) - ((f[l4 + 12]! >>> 4) << 2);
  return f[l4 + 13] === TCP_ACK && payload === 0;
}

/**
 * Bring `cluster` up, let `prepare` change it (more flows, conntrack entries), run `spec` once with an in-memory
 * capture that keeps bytes, and pick the frame to replay. Captures are detached afterwards (runtime.capture =
 * null): the fast path. With `opts.fastPath: false` every injection walks hop by hop (src/fastpath is off); a
 * function is the fast path to inject instead of `createFastPath` (the auditing one, in tests).
 */
export function warmPath(
  cluster: Cluster,
  spec: FlowSpec,
  prepare?: (emu: Emulation) => void,
  opts: { fastPath?: boolean | PathCacheFactory } = {},
): WarmPath {
  const fastPath =
    opts.fastPath === false ? undefined : typeof opts.fastPath === 'function' ? opts.fastPath : createFastPath;
  const emu = new Emulation(cluster, { seed: 1, fastPath });
  prepare?.(emu);
  const rt = emu.runtime;
  const source = sourcePod(emu, spec);
  const rec = new WarmupCapture();
  attachCapture(emu, rec);
  const result = runFlow(emu, spec);
  if (!result.ok) throw new Error(`warm-up flow failed: ${result.detail}`);
  let frame: Uint8Array | undefined;
  for (const f of rec.frames)
    if (f.point === source.eth0.tap && f.direction === 'outbound' && isPureAck(f.bytes!)) frame = f.bytes;
  if (!frame) throw new Error(`the warm-up flow from ${source.pod.name} sent no pure ACK`);
  // One more injection, recorded in memory: how many capture points one walk packet crosses, and its pcapng bytes.
  const framesBefore = rec.frames.length,
    bytesBefore = rec.bytes;
  inject({ runtime: rt, source, frame });
  const hops = rec.frames.length - framesBefore;
  const pcapngBytes = rec.bytes - bytesBefore;
  rt.capture = null;
  return { emulation: emu, runtime: rt, source, frame, hops, pcapngBytes };
}

/** Inject one copy of the frame at the client's eth0; the synchronous emulation carries it to the end. */
export function inject(w: Pick<WarmPath, 'runtime' | 'source' | 'frame'>): PacketBuffer {
  const pkt = w.runtime.pool.acquire();
  pkt.load(w.frame);
  w.source.eth0.transmit(pkt);
  return pkt;
}

/**
 * Prove that one injection is one packet delivered to `expectHost` (no drop, no reply, no buffer leak) by
 * tracing a single injection. Throws with the trace's last lines otherwise.
 */
export function checkOnePacket(w: WarmPath, expectHost: string): void {
  const rt = w.runtime;
  const drops = [...rt.drops.values()].reduce((a, b) => a + b, 0);
  const free = rt.pool.available;
  const created = rt.packets.length;
  rt.tracing = true;
  const pkt = rt.newPacket(w.source.stack.name, 'benchmark frame');
  rt.tracing = false;
  pkt.load(w.frame);
  w.source.eth0.transmit(pkt);
  const walked = rt.packets.slice(created);
  const outcome = walked[0]?.outcome;
  const problems: string[] = [];
  if (walked.length !== 1)
    problems.push(`${walked.length} packets instead of 1 (${walked.map((p) => p.label).join(', ')})`);
  if (outcome?.kind !== 'delivered' || outcome.host !== expectHost)
    problems.push(`outcome ${JSON.stringify(outcome)}, expected delivery to ${expectHost}`);
  if ([...rt.drops.values()].reduce((a, b) => a + b, 0) !== drops)
    problems.push(`drops: ${JSON.stringify([...rt.drops])}`);
  if (rt.pool.available !== free) problems.push(`buffer pool: ${free} free before, ${rt.pool.available} after`);
  if (problems.length > 0) {
    const tail = (walked[0]?.trace.root ?? [])
      .slice(-6)
      .map((n) => `  ${n.node ?? ''}: ${n.text}`)
      .join('\n');
    throw new Error(
      `frame injected at ${w.source.pod.name} eth0 to ${ipv4ToString(readU16(w.frame, 30) * 65536 + readU16(w.frame, 32))}: ${problems.join('; ')}\n${tail}`,
    );
  }
  // The traced copy's record is no longer needed; keep the runtime's list from growing across checks.
  rt.packets.length = created;
}
