/**
 * SocketLayer: the applications on a host, reduced to what a walk needs — TCP servers and clients with a real
 * handshake, one request, one response and an orderly close; UDP request/response; ICMP echo is answered by
 * the stack itself. Sequence numbers, ports and IP IDs come from the run's seeded randomness.
 *
 * Simplified: no retransmission, no congestion control or delayed ACKs; a server answers each request segment
 * with one PSH/ACK carrying its response, and closes with FIN/ACK when the client does.
 */

import { ipv4ToString, readI32, readU16, readU32, type Ipv4Address } from '../../codecs/bytes.js';

import { emitIpv4, IPPROTO_TCP, IPPROTO_UDP, IPV4_HEADER_LEN, Ipv4View } from '../../codecs/ipv4.js';
import { emitTcp, TCP_ACK, TCP_FIN, TCP_HEADER_LEN, TCP_PSH, TCP_RST, TCP_SYN } from '../../codecs/tcp.js';
import { emitUdp, UDP_HEADER_LEN } from '../../codecs/udp.js';
import type { PacketBuffer } from '../buffer/packet-buffer.js';
import type { NetInterface } from '../ports/net-interface.js';
import { LOOPBACK_IP } from './routing.js';
import type { RoutingTable } from './routing.js';
import type { Runtime } from '../runtime/runtime.js';
import { HOP_NS } from '../runtime/clock.js';

/**
 * `host what a.b.c.d:port suffix`, the delivery text of a traced packet (`ip` as int32). Kept out of `receive`:
 * with `ip >>> 0` written there, V8 boxed the unsigned address on every packet, traced or not.
 */
function socketText(host: string, what: string, ip: number, port: number, suffix: string): string {
  return `${host} ${what} ${ipv4ToString(ip >>> 0)}:${port}${suffix}`;
}

/** A 32-bit keyed mix of three words (murmur3-style rounds and finaliser): the emulator's siphash stand-in. */
function mix4(key: number, a: number, b: number, c: number): number {
  let h = key | 0;
  for (const w of [a | 0, b | 0, c | 0]) {
    let k = Math.imul(w, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A server application: given a request payload, the response payload. */
export type ServerApp = (request: Uint8Array, from: { ip: Ipv4Address; port: number }) => Uint8Array;

export type TcpState =
  | 'CLOSED'
  | 'LISTEN'
  | 'SYN_SENT'
  | 'SYN_RECEIVED'
  | 'ESTABLISHED'
  | 'FIN_WAIT_1'
  | 'FIN_WAIT_2'
  | 'CLOSE_WAIT'
  | 'LAST_ACK'
  | 'TIME_WAIT';

/** SYN options Linux sends, trimmed: MSS, NOP NOP SACK-permitted, NOP window-scale 7 (no timestamps). */
function synOptions(mss: number): Uint8Array {
  return Uint8Array.of(2, 4, mss >>> 8, mss & 0xff, 1, 1, 4, 2, 1, 3, 3, 7);
}

/** Linux's default net.ipv4.ip_local_port_range. */
export const EPHEMERAL_FIRST = 32768;
export const EPHEMERAL_LAST = 60999;
const EPHEMERAL_COUNT = EPHEMERAL_LAST - EPHEMERAL_FIRST + 1;
/** TCP_TIMEWAIT_LEN (include/net/tcp.h): a connection closed actively holds its 4-tuple and port 60 s. */
export const TCP_TIMEWAIT_NS = 60_000_000_000;
/**
 * How long a client that got no answer keeps its socket: Linux retransmits a SYN tcp_syn_retries = 6 times
 * (1+2+4+8+16+32+64 s) before connect() fails with ETIMEDOUT. Simplified: the emulator sends no retransmissions
 * and uses this one figure for every conversation its client gives up on.
 */
export const TCP_GIVE_UP_NS = 127_000_000_000;

/**
 * What the socket layer needs of the stack that owns it (the kernel's struct sock reaching its netns and
 * ip_queue_xmit): owned here, so sockets.ts and stack.ts do not import each other.
 */
export interface SocketHostStack {
  readonly name: string;
  readonly runtime: Runtime;
  readonly routes: RoutingTable;
  sourceFor(dst: Ipv4Address): Ipv4Address;
  sendIp(pkt: PacketBuffer): boolean;
}
export class TcpConnection {
  state: TcpState = 'CLOSED';
  /** Why connect() failed without sending anything (`EADDRNOTAVAIL`: no free ephemeral port). */
  error: 'EADDRNOTAVAIL' | undefined = undefined;
  /** When the socket is freed (ns; set once it is closed or given up), 0 while it is open. */
  releaseAt = 0;
  sndNxt = 0;
  rcvNxt = 0;
  /** Bytes of response received (client) / request received (server). */
  received: Uint8Array[] = [];
  /** Set when the client's whole exchange (handshake, request, response, close) completed. */
  completed = false;
  reset = false;
  /** The socket's IP ID counter (inet_id): connected sockets number their own datagrams. */
  ipId = 0;
  constructor(
    readonly localIp: Ipv4Address,
    readonly localPort: number,
    readonly remoteIp: Ipv4Address,
    readonly remotePort: number,
    readonly role: 'client' | 'server',
    readonly request: Uint8Array | null,
    readonly app: ServerApp | null,
  ) {}
}

export interface UdpExchange {
  localIp: Ipv4Address;
  localPort: number;
  remoteIp: Ipv4Address;
  remotePort: number;
  response?: Uint8Array;
  /** Set when the datagram could not be sent (`EADDRNOTAVAIL`: no free ephemeral port). */
  error?: 'EADDRNOTAVAIL';
}

/** An int32 hash of a 4-tuple (addresses as uint32 or int32): the key of a bucket of connections. */
function connHash(lip: number, lport: number, rip: number, rport: number): number {
  let h = Math.imul(lip | 0, 0x9e3779b1) ^ (rip | 0);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b) ^ ((lport << 16) | rport);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** Connections keyed by 4-tuple without building a string per packet: int32 hash -> the few sharing it. */
class ConnTable<T extends { localIp: number; localPort: number; remoteIp: number; remotePort: number }> {
  private readonly buckets = new Map<number, T[]>();
  get(lip: number, lport: number, rip: number, rport: number): T | undefined {
    const list = this.buckets.get(connHash(lip, lport, rip, rport));
    if (list === undefined) return undefined;
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!;
      if (
        (c.localIp | 0) === (lip | 0) &&
        c.localPort === lport &&
        (c.remoteIp | 0) === (rip | 0) &&
        c.remotePort === rport
      )
        return c;
    }
    return undefined;
  }
  set(c: T): void {
    const h = connHash(c.localIp, c.localPort, c.remoteIp, c.remotePort);
    const list = this.buckets.get(h);
    if (list === undefined) this.buckets.set(h, [c]);
    else {
      const i = list.findIndex(
        (x) =>
          (x.localIp | 0) === (c.localIp | 0) &&
          x.localPort === c.localPort &&
          (x.remoteIp | 0) === (c.remoteIp | 0) &&
          x.remotePort === c.remotePort,
      );
      if (i >= 0) list[i] = c;
      else list.push(c);
    }
  }
  /** Remove `c` (only that object: a newer connection on the same 4-tuple stays). */
  delete(c: T): void {
    const h = connHash(c.localIp, c.localPort, c.remoteIp, c.remotePort);
    const list = this.buckets.get(h);
    if (list === undefined) return;
    const i = list.indexOf(c);
    if (i < 0) return;
    if (list.length === 1) this.buckets.delete(h);
    else list.splice(i, 1);
  }
  *values(): IterableIterator<T> {
    for (const l of this.buckets.values()) yield* l;
  }
}

/** Sockets waiting for their release time, oldest first (`head` is the next to free). */
class ReleaseQueue {
  readonly items: TcpConnection[] = [];
  head = 0;
  constructor(readonly holdNs: number) {}
}

export class SocketLayer {
  private readonly tcpListeners = new Map<number, ServerApp>();
  private readonly udpListeners = new Map<number, ServerApp>();
  private readonly tcp = new ConnTable<TcpConnection>();
  private readonly udp = new ConnTable<UdpExchange>();
  private readonly view = new Ipv4View(new Uint8Array(0));
  private readonly rng;
  /** Window we advertise after the handshake (64256 bytes with window scale 7). */
  window = 502;

  constructor(private readonly stack: SocketHostStack) {
    this.rng = stack.runtime.rng.fork(`sockets:${stack.name}`);
    this.isnSecret = this.rng.fork('isn').nextU32();
    this.idSecret = this.rng.fork('inet_id').nextU32();
  }

  listenTcp(port: number, app: ServerApp): void {
    this.tcpListeners.set(port, app);
  }

  listenUdp(port: number, app: ServerApp): void {
    this.udpListeners.set(port, app);
  }

  private nextPort = 0;

  /**
   * An ephemeral port from Linux's default ip_local_port_range 32768-60999: a seeded random start, then the
   * next one not in use (Linux starts from a keyed hash and walks the range the same way), so repeated
   * connections never collide with one still open or in TIME_WAIT here. -1 when every port is taken: connect()
   * then fails with EADDRNOTAVAIL, as __inet_hash_connect does.
   */
  ephemeralPort(): number {
    this.reap();
    if (this.nextPort === 0) this.nextPort = this.rng.int(EPHEMERAL_FIRST, EPHEMERAL_LAST);
    if (!this.ephemeralPortFree()) return -1;
    for (let tries = 0; tries < EPHEMERAL_COUNT; tries++) {
      const p = this.nextPort;
      this.nextPort = p >= EPHEMERAL_LAST ? EPHEMERAL_FIRST : p + 1;
      if (!this.portInUse(p)) return p;
    }
    return -1;
  }

  /** Client ports held by sockets (open, in TIME_WAIT, or given up and not yet freed). */
  private readonly usedPorts = new Set<number>();
  /** How many of `usedPorts` lie in the ephemeral range. */
  private ephemeralInUse = 0;

  private portInUse(port: number): boolean {
    return this.usedPorts.has(port) || this.tcpListeners.has(port) || this.udpListeners.has(port);
  }

  private takePort(port: number): void {
    if (this.usedPorts.has(port)) return;
    this.usedPorts.add(port);
    if (port >= EPHEMERAL_FIRST && port <= EPHEMERAL_LAST) this.ephemeralInUse++;
  }

  private freePort(port: number): void {
    if (!this.usedPorts.delete(port)) return;
    if (port >= EPHEMERAL_FIRST && port <= EPHEMERAL_LAST) this.ephemeralInUse--;
  }

  /** True when connect() would find a free ephemeral port now (after freeing what has expired). */
  ephemeralPortFree(): boolean {
    this.reap();
    let listening = 0;
    for (const p of this.tcpListeners.keys())
      if (p >= EPHEMERAL_FIRST && p <= EPHEMERAL_LAST && !this.usedPorts.has(p)) listening++;
    for (const p of this.udpListeners.keys())
      if (p >= EPHEMERAL_FIRST && p <= EPHEMERAL_LAST && !this.usedPorts.has(p) && !this.tcpListeners.has(p))
        listening++;
    return this.ephemeralInUse + listening < EPHEMERAL_COUNT;
  }

  /**
   * The virtual time (ns) at which connect() next finds a free ephemeral port: now when one is free, else when the
   * oldest closed socket holding one is freed; Infinity when none is waiting to be freed. A load generator that
   * opens connection after connection to one service has to wait that long (see walk/bulk.ts).
   */
  ephemeralPortFreeAt(): number {
    if (this.ephemeralPortFree()) return this.stack.runtime.clock.now;
    let t = Infinity;
    for (const q of this.closing) {
      for (let i = q.head; i < q.items.length; i++) {
        const c = q.items[i]!;
        if (c.role === 'client' && c.localPort >= EPHEMERAL_FIRST && c.localPort <= EPHEMERAL_LAST) {
          if (c.releaseAt < t) t = c.releaseAt;
          break;
        }
      }
    }
    return t;
  }

  /**
   * Sockets waiting to be freed, one FIFO per hold time (TIME_WAIT, given up): the clock only moves forward, so
   * each is ordered by release time and freeing costs nothing per packet (inet_twsk_schedule's timer wheel).
   */
  private readonly closing = [new ReleaseQueue(TCP_TIMEWAIT_NS), new ReleaseQueue(TCP_GIVE_UP_NS)];

  /** Hold `c` for `queue`'s time, then free its 4-tuple (and, for a client, its port). */
  private scheduleRelease(c: TcpConnection, queue: 0 | 1): void {
    if (c.releaseAt !== 0) return;
    const q = this.closing[queue]!;
    c.releaseAt = this.stack.runtime.clock.now + q.holdNs;
    q.items.push(c);
  }

  /** Free the sockets whose hold time has passed. O(freed). */
  private reap(): void {
    const now = this.stack.runtime.clock.now;
    for (const q of this.closing) {
      const items = q.items;
      while (q.head < items.length && items[q.head]!.releaseAt <= now) {
        const c = items[q.head]!;
        items[q.head++] = undefined as unknown as TcpConnection;
        this.release(c);
      }
      if (q.head > 4096 && q.head * 2 > items.length) {
        items.splice(0, q.head);
        q.head = 0;
      }
    }
  }

  private release(c: TcpConnection): void {
    if (c.state === 'TIME_WAIT') c.state = 'CLOSED';
    this.tcp.delete(c);
    if (c.role === 'client') this.freePort(c.localPort);
  }

  /**
   * The client application is done with `c` (its flow has been read): a connection that did not complete is
   * given up — held TCP_GIVE_UP_NS as the kernel's SYN retries would hold it, then freed. A completed one is
   * already in TIME_WAIT; a reset one is already free.
   */
  abandon(c: TcpConnection): void {
    if (c.role !== 'client' || c.error || c.releaseAt !== 0 || c.state === 'TIME_WAIT') return;
    if (c.reset) return;
    c.state = 'CLOSED';
    this.scheduleRelease(c, 1);
  }

  /** The client application closes its UDP socket: the port is free at once (UDP has no TIME_WAIT). */
  closeUdp(x: UdpExchange): void {
    if (x.error) return;
    if (this.udp.get(x.localIp, x.localPort, x.remoteIp, x.remotePort) === x) {
      this.udp.delete(x);
      this.freePort(x.localPort);
    }
  }

  /** Per-host secrets for ISNs and socket IP IDs (the kernel's are random per boot; ours come from the seed). */
  private readonly isnSecret: number;
  private readonly idSecret: number;

  /**
   * Initial sequence number as Linux's secure_tcp_seq computes it: a keyed hash of the 4-tuple plus the clock
   * in 64 ns units, so a connection's ISN does not depend on which connections came before it.
   */
  private isn(src: number, dst: number, sport: number, dport: number): number {
    return (
      (mix4(this.isnSecret, src, dst, ((sport & 0xffff) << 16) | (dport & 0xffff)) +
        Math.floor(this.stack.runtime.clock.now / 64)) >>>
      0
    );
  }

  /** A connected socket's first IP ID (inet_id, random per socket in Linux): a keyed hash of the 4-tuple. */
  private socketIpId(src: number, dst: number, sport: number, dport: number): number {
    return mix4(this.idSecret, src, dst, ((sport & 0xffff) << 16) | (dport & 0xffff)) & 0xffff;
  }

  /** Start a TCP exchange: SYN now; the rest follows as segments arrive. */
  connectTcp(
    dst: Ipv4Address,
    dport: number,
    request: Uint8Array,
    sport = this.ephemeralPort(),
    src = this.stack.sourceFor(dst),
  ): TcpConnection {
    if (dst === 0) dst = LOOPBACK_IP; // connect() to 0.0.0.0 reaches this host as 127.0.0.1 (ip_route_connect)
    if (sport < 0) {
      // No free ephemeral port: connect() fails before anything is sent.
      const failed = new TcpConnection(src, 0, dst, dport, 'client', request, null);
      failed.error = 'EADDRNOTAVAIL';
      return failed;
    }
    this.reap();
    const c = new TcpConnection(src, sport, dst, dport, 'client', request, null);
    this.tcp.set(c);
    this.takePort(sport);
    c.sndNxt = this.isn(src, dst, sport, dport);
    c.ipId = this.socketIpId(src, dst, sport, dport);
    c.state = 'SYN_SENT';
    this.sendSegment(c, TCP_SYN, null, `TCP SYN ${ipv4ToString(src)}:${sport} > ${ipv4ToString(dst)}:${dport}`);
    return c;
  }

  /** Send one UDP request; the response (if any) is stored on the returned exchange. */
  sendUdp(
    dst: Ipv4Address,
    dport: number,
    payload: Uint8Array,
    sport = this.ephemeralPort(),
    src = this.stack.sourceFor(dst),
  ): UdpExchange {
    if (dst === 0) dst = LOOPBACK_IP; // as connectTcp
    if (sport < 0) return { localIp: src, localPort: 0, remoteIp: dst, remotePort: dport, error: 'EADDRNOTAVAIL' };
    const x: UdpExchange = { localIp: src, localPort: sport, remoteIp: dst, remotePort: dport };
    this.udp.set(x);
    this.takePort(sport);
    this.sendDatagram(
      src,
      sport,
      dst,
      dport,
      payload,
      `UDP ${ipv4ToString(src)}:${sport} > ${ipv4ToString(dst)}:${dport}`,
    );
    return x;
  }

  /** Deliver a local TCP/UDP datagram (IPv4 at l3). Returns false when no socket wants it. */
  receive(pkt: PacketBuffer, l3: number, _iface: NetInterface): boolean {
    const v = this.view.reset(pkt.data, l3);
    const proto = v.protocol;
    const l4 = l3 + v.headerLength;
    const end = l3 + v.totalLength;
    const d = pkt.data;
    // Addresses as int32 (uint32 >= 2^31 held across calls are heap numbers); unsigned only where stored.
    const src = readI32(d, l3 + 12),
      dst = readI32(d, l3 + 16);
    const sport = readU16(d, l4),
      dport = readU16(d, l4 + 2);
    const rt = this.stack.runtime;
    const traced = pkt.traced;
    if (proto === IPPROTO_UDP) {
      const x = this.udp.get(dst, dport, src, sport);
      if (x) {
        x.response = Uint8Array.from(d.subarray(l4 + UDP_HEADER_LEN, end));
        rt.deliver(pkt, this.stack.name, traced ? socketText(this.stack.name, 'UDP socket', dst, dport, '') : '');
        return true;
      }
      const app = this.udpListeners.get(dport);
      if (!app) return false;
      const response = app(Uint8Array.from(d.subarray(l4 + UDP_HEADER_LEN, end)), { ip: src >>> 0, port: sport });
      rt.deliver(pkt, this.stack.name, traced ? `${this.stack.name} UDP server on port ${dport}` : '');
      rt.clock.advance(HOP_NS.app);
      this.sendDatagram(
        dst >>> 0,
        dport,
        src >>> 0,
        sport,
        response,
        `UDP response ${ipv4ToString(dst >>> 0)}:${dport} > ${ipv4ToString(src >>> 0)}:${sport}`,
      );
      return true;
    }
    if (proto !== IPPROTO_TCP) return false;
    // Sequence numbers as int32 on the way in (tcpInput makes them unsigned where it stores them).
    const seq = readI32(d, l4 + 4),
      ack = readI32(d, l4 + 8);
    const flags = d[l4 + 13]!;
    const dataOff = (d[l4 + 12]! >>> 4) << 2;
    let c = this.tcp.get(dst, dport, src, sport);
    // A SYN for a server connection that has closed opens a new one (tcp_timewait_state_process accepts it).
    if (
      c !== undefined &&
      c.role === 'server' &&
      c.releaseAt !== 0 &&
      (flags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN
    )
      c = undefined;
    if (!c) {
      const app = this.tcpListeners.get(dport);
      if (!app || !(flags & TCP_SYN) || flags & TCP_ACK) return false;
      this.reap();
      c = new TcpConnection(dst >>> 0, dport, src >>> 0, sport, 'server', null, app);
      this.tcp.set(c);
      c.state = 'LISTEN';
    }
    if (flags & TCP_RST) {
      c.reset = true;
      c.state = 'CLOSED';
      // A reset socket is destroyed at once (tcp_reset -> tcp_done): no TIME_WAIT; its port is free again.
      if (c.releaseAt === 0) {
        c.releaseAt = rt.clock.now;
        this.release(c);
      }
      rt.deliver(pkt, this.stack.name, traced ? socketText(this.stack.name, 'TCP', dst, dport, ' (RST)') : '');
      return true;
    }
    if (!this.acceptable(c, pkt, l3, flags, seq, ack)) return true;
    // A view and a copy only when the segment carries data (a bare ACK needs neither).
    const payloadCopy = end > l4 + dataOff ? Uint8Array.from(d.subarray(l4 + dataOff, end)) : null;
    rt.deliver(
      pkt,
      this.stack.name,
      traced ? socketText(this.stack.name, 'TCP socket', dst, dport, ` (${c.role})`) : '',
    );
    this.tcpInput(c, flags, seq, ack, payloadCopy);
    return true;
  }

  /**
   * The kernel's checks of a segment against the connection (what a replayed capture, whose sequence numbers
   * came from another host's ISNs, runs into). False when the segment was answered and dropped here:
   *  - SYN_SENT, an ACK that does not acknowledge our SYN: reset (tcp_rcv_synsent_state_process);
   *  - SYN_RECEIVED, an ACK that does not acknowledge our SYN-ACK: the listener resets, the request stays
   *    (tcp_check_req returns the listener, tcp_v4_do_rcv sends the reset);
   *  - synchronized states, a sequence number other than rcv.nxt: a duplicate ACK, segment dropped
   *    (tcp_validate_incoming; simplified: no out-of-order queue, the window is one segment wide);
   *  - an ACK of data never sent: dropped (tcp_ack, RFC 793 3.9).
   * Sequence numbers are compared as int32 (no heap numbers on the hot path).
   */
  private acceptable(
    c: TcpConnection,
    pkt: PacketBuffer,
    l3: number,
    flags: number,
    seq: number,
    ack: number,
  ): boolean {
    const st = c.state;
    if (st === 'LISTEN' || st === 'CLOSED') return true;
    const rt = this.stack.runtime;
    if ((st === 'SYN_SENT' || st === 'SYN_RECEIVED') && flags & TCP_ACK && ack !== (c.sndNxt | 0)) {
      this.sendReset(pkt, l3);
      rt.drop(
        pkt,
        this.stack.name,
        `TCP ${st}: ACK ${ack >>> 0} does not acknowledge our ${st === 'SYN_SENT' ? 'SYN' : 'SYN-ACK'} (expected ${c.sndNxt}); reset sent`,
      );
      return false;
    }
    if (st === 'SYN_SENT' || st === 'SYN_RECEIVED') return true;
    if (seq !== (c.rcvNxt | 0)) {
      this.sendSegment(c, TCP_ACK, null, 'TCP duplicate ACK');
      rt.drop(
        pkt,
        this.stack.name,
        `TCP ${st}: sequence ${seq >>> 0} is not the expected ${c.rcvNxt}; duplicate ACK sent`,
      );
      return false;
    }
    if (flags & TCP_ACK && ack - (c.sndNxt | 0) > 0) {
      rt.drop(pkt, this.stack.name, `TCP ${st}: ACK ${ack >>> 0} acknowledges data never sent (snd.nxt ${c.sndNxt})`);
      return false;
    }
    return true;
  }

  /** The application's think time before it answers (no closure per segment). */
  private think(): void {
    this.stack.runtime.clock.advance(HOP_NS.app);
  }

  private tcpInput(c: TcpConnection, flags: number, seq: number, _ack: number, payload: Uint8Array | null): void {
    switch (c.state) {
      case 'LISTEN':
        c.rcvNxt = (seq + 1) >>> 0;
        c.sndNxt = this.isn(c.localIp, c.remoteIp, c.localPort, c.remotePort);
        c.ipId = this.socketIpId(c.localIp, c.remoteIp, c.localPort, c.remotePort);
        c.state = 'SYN_RECEIVED';
        this.think();
        this.sendSegment(c, TCP_SYN | TCP_ACK, null, 'TCP SYN-ACK');
        return;
      case 'SYN_SENT':
        if ((flags & (TCP_SYN | TCP_ACK)) !== (TCP_SYN | TCP_ACK)) return;
        c.rcvNxt = (seq + 1) >>> 0;
        c.state = 'ESTABLISHED';
        this.sendSegment(c, TCP_ACK, null, 'TCP ACK (handshake)');
        if (c.request) this.sendSegment(c, TCP_PSH | TCP_ACK, c.request, `TCP request (${c.request.length} bytes)`);
        return;
      // biome-ignore lint/suspicious/noFallthroughSwitchClause: data on the handshake ACK is handled as ESTABLISHED
      case 'SYN_RECEIVED':
        if (flags & TCP_ACK) c.state = 'ESTABLISHED';
        if (!payload) return;
      // falls through
      case 'ESTABLISHED':
        if (payload) {
          c.received.push(payload);
          c.rcvNxt = (c.rcvNxt + payload.length) >>> 0;
          if (c.role === 'server' && c.app) {
            this.think();
            const response = c.app(payload, { ip: c.remoteIp, port: c.remotePort });
            this.sendSegment(c, TCP_PSH | TCP_ACK, response, `TCP response (${response.length} bytes)`);
          } else if (c.role === 'client') {
            // Response received: close (FIN/ACK acknowledges the data).
            c.state = 'FIN_WAIT_1';
            this.sendSegment(c, TCP_FIN | TCP_ACK, null, 'TCP FIN');
          }
        }
        if (flags & TCP_FIN) {
          c.rcvNxt = (c.rcvNxt + 1) >>> 0;
          c.state = 'LAST_ACK';
          this.sendSegment(c, TCP_FIN | TCP_ACK, null, 'TCP FIN-ACK');
        }
        return;
      case 'FIN_WAIT_1':
      case 'FIN_WAIT_2':
        if (flags & TCP_FIN) {
          c.rcvNxt = (c.rcvNxt + 1) >>> 0;
          c.state = 'TIME_WAIT';
          this.scheduleRelease(c, 0);
          this.sendSegment(c, TCP_ACK, null, 'TCP ACK (close)');
          c.completed = true;
        } else if (flags & TCP_ACK) {
          c.state = 'FIN_WAIT_2';
        }
        return;
      case 'LAST_ACK':
        if (flags & TCP_ACK) {
          c.state = 'CLOSED';
          // Simplified: Linux destroys the socket here and answers a late segment with RST; the emulator keeps
          // the closed connection for TCP_TIMEWAIT_NS, absorbing late segments, then frees it.
          this.scheduleRelease(c, 0);
        }
        return;
      default:
        return;
    }
  }

  /**
   * Build and send one TCP segment of connection `c`, advancing snd.nxt first: the emulation is synchronous, so
   * the peer's answer (and our reaction to it) runs inside this call.
   */
  private sendSegment(c: TcpConnection, flags: number, payload: Uint8Array | null, label: string): void {
    const seq = c.sndNxt;
    c.sndNxt = (seq + (payload ? payload.length : 0) + (flags & TCP_SYN ? 1 : 0) + (flags & TCP_FIN ? 1 : 0)) >>> 0;
    const stack = this.stack;
    const rt = stack.runtime;
    const pkt = rt.newPacket(stack.name, label);
    const options = flags & TCP_SYN ? synOptions(this.mssFor(c.remoteIp)) : undefined;
    const tcpLen = TCP_HEADER_LEN + (options ? options.length : 0);
    const plen = payload ? payload.length : 0;
    const o = pkt.setFrame(IPV4_HEADER_LEN + tcpLen + plen);
    const d = pkt.data;
    if (payload) d.set(payload, o + IPV4_HEADER_LEN + tcpLen);
    emitTcp(
      {
        srcPort: c.localPort,
        dstPort: c.remotePort,
        seq,
        ack: flags & TCP_ACK ? c.rcvNxt : 0,
        flags,
        window: flags & TCP_SYN ? 64860 : this.window,
        options,
      },
      d,
      o + IPV4_HEADER_LEN,
      plen,
      c.localIp,
      c.remoteIp,
    );
    // Linux sets DF on TCP (path MTU discovery on by default). IP ID (ip_select_ident_segs): a connected socket
    // numbers its datagrams from its own inet_id; the SYN-ACK leaves from the listener, which is not connected,
    // and a DF datagram from an unconnected socket gets ID 0.
    let id = 0;
    if ((flags & (TCP_SYN | TCP_ACK)) !== (TCP_SYN | TCP_ACK)) {
      id = c.ipId;
      c.ipId = (c.ipId + 1) & 0xffff;
    }
    emitIpv4(
      { protocol: IPPROTO_TCP, src: c.localIp, dst: c.remoteIp, ttl: 64, dontFragment: true, identification: id },
      d,
      o,
      tcpLen + plen,
    );
    stack.sendIp(pkt);
  }

  /** Reply to a segment nobody listens for with RST/ACK (tcp_v4_send_reset). */
  sendReset(orig: PacketBuffer, l3: number): void {
    const v = this.view.reset(orig.data, l3);
    const l4 = l3 + v.headerLength;
    const d0 = orig.data;
    const flags = d0[l4 + 13]!;
    if (flags & TCP_RST) return;
    const seqIn = readU32(d0, l4 + 4);
    const dataOff = (d0[l4 + 12]! >>> 4) << 2;
    const segLen = v.totalLength - v.headerLength - dataOff + (flags & TCP_SYN ? 1 : 0) + (flags & TCP_FIN ? 1 : 0);
    const src = v.dst,
      dst = v.src,
      sport = readU16(d0, l4 + 2),
      dport = readU16(d0, l4);
    const ackIn = readU32(d0, l4 + 8);
    const rt = this.stack.runtime;
    const pkt = rt.newPacket(this.stack.name, 'TCP RST');
    const o = pkt.setFrame(IPV4_HEADER_LEN + TCP_HEADER_LEN);
    const hasAck = (flags & TCP_ACK) !== 0;
    emitTcp(
      {
        srcPort: sport,
        dstPort: dport,
        seq: hasAck ? ackIn : 0,
        ack: hasAck ? 0 : (seqIn + segLen) >>> 0,
        flags: hasAck ? TCP_RST : TCP_RST | TCP_ACK,
        window: 0,
      },
      pkt.data,
      o + IPV4_HEADER_LEN,
      0,
      src,
      dst,
    );
    emitIpv4(
      { protocol: IPPROTO_TCP, src, dst, ttl: 64, dontFragment: true, identification: 0 },
      pkt.data,
      o,
      TCP_HEADER_LEN,
    );
    this.stack.sendIp(pkt);
  }

  private sendDatagram(
    src: Ipv4Address,
    sport: number,
    dst: Ipv4Address,
    dport: number,
    payload: Uint8Array,
    label: string,
  ): void {
    const stack = this.stack;
    const pkt = stack.runtime.newPacket(stack.name, label);
    const o = pkt.setFrame(IPV4_HEADER_LEN + UDP_HEADER_LEN + payload.length);
    pkt.data.set(payload, o + IPV4_HEADER_LEN + UDP_HEADER_LEN);
    emitUdp({ srcPort: sport, dstPort: dport }, pkt.data, o + IPV4_HEADER_LEN, payload.length, src, dst);
    // Linux UDP sockets also set DF (IP_PMTUDISC_WANT lets small datagrams carry DF).
    // An unconnected UDP socket's DF datagrams carry IP ID 0 (ip_select_ident_segs).
    emitIpv4(
      { protocol: IPPROTO_UDP, src, dst, ttl: 64, dontFragment: true, identification: 0 },
      pkt.data,
      o,
      UDP_HEADER_LEN + payload.length,
    );
    stack.sendIp(pkt);
  }

  /** MSS the kernel advertises: the route's device MTU minus 40. */
  private mssFor(dst: Ipv4Address): number {
    const r = this.stack.routes.lookup(dst);
    return (r?.mtu ?? r?.dev.mtu ?? 1500) - 40;
  }

  connections(): TcpConnection[] {
    return [...this.tcp.values()];
  }
}
