import { describe, expect, it } from 'vitest';
import { ipv4 } from '../../codecs/bytes.js';
import { CT_EST, CT_INV, CT_NEW, CT_REL, CT_RPL, CT_TRK } from '../../src/buffer/packet-buffer.js';
import {
  Conntrack,
  IPS_ASSURED,
  TRACK_ACCEPT,
  TRACK_DROP,
  type ConntrackEntry,
} from '../../src/netfilter/conntrack.js';
import { formatConntrackEntry, formatConntrackTable } from '../../src/netfilter/conntrack-format.js';
import { TCP_STATE_NAMES } from '../../src/netfilter/tcp-state.js';
import { ACK, echo, FIN, icmpError, PSH, RST, SEC, SYN, tcp, udp, type Ends } from './packets.js';

const C: Ends = { src: '10.131.0.20', dst: '10.131.0.40', sport: 40000, dport: 8080 };
const S: Ends = { src: C.dst, dst: C.src, sport: C.dport, dport: C.sport };

/** Track one packet (and confirm it, as POSTROUTING does); returns its ct_state. */
function step(
  ct: Conntrack,
  p: { pkt: import('../../src/buffer/packet-buffer.js').PacketBuffer; l3: number },
  now: number,
): number {
  expect(ct.track(p.pkt, p.l3, now)).toBe(TRACK_ACCEPT);
  ct.confirm(p.pkt, now);
  return p.pkt.ctState;
}

function state(e: ConntrackEntry): string {
  return TCP_STATE_NAMES[e.tcpState]!;
}

describe('conntrack: TCP', () => {
  it('walks handshake, data and close through the kernel states and timeouts', () => {
    const ct = new Conntrack();
    let now = 1000 * SEC;
    // Expected (state, seconds shown by conntrack -L just after the packet) from nf_conntrack_proto_tcp.c's table
    // and the default nf_conntrack_tcp_timeout_* sysctls.
    const syn = tcp(C, SYN);
    expect(step(ct, syn, now)).toBe(CT_TRK | CT_NEW);
    const e = syn.pkt.ctEntry as ConntrackEntry;
    expect([state(e), ct.secondsLeft(e, now)]).toEqual(['SYN_SENT', 119]);
    expect(ct.count).toBe(1);

    now += SEC;
    expect(step(ct, tcp(S, SYN | ACK), now)).toBe(CT_TRK | CT_EST | CT_RPL);
    expect([state(e), ct.secondsLeft(e, now)]).toEqual(['SYN_RECV', 59]);

    now += SEC;
    expect(step(ct, tcp(C, ACK), now)).toBe(CT_TRK | CT_EST);
    expect([state(e), ct.secondsLeft(e, now), (e.status & IPS_ASSURED) !== 0]).toEqual(['ESTABLISHED', 431999, true]);
    expect(formatConntrackEntry(e, ct.secondsLeft(e, now))).toBe(
      'tcp      6 431999 ESTABLISHED src=10.131.0.20 dst=10.131.0.40 sport=40000 dport=8080 src=10.131.0.40 dst=10.131.0.20 sport=8080 dport=40000 [ASSURED] mark=0 use=1',
    );

    step(ct, tcp(C, PSH | ACK, { payload: 100 }), now);
    step(ct, tcp(S, ACK), now);
    expect(state(e)).toBe('ESTABLISHED');

    // Active close by the client: FIN, ACK, FIN, ACK.
    now += SEC;
    step(ct, tcp(C, FIN | ACK), now);
    expect([state(e), ct.secondsLeft(e, now)]).toEqual(['FIN_WAIT', 119]);
    step(ct, tcp(S, ACK), now);
    expect([state(e), ct.secondsLeft(e, now)]).toEqual(['CLOSE_WAIT', 59]);
    step(ct, tcp(S, FIN | ACK), now);
    expect([state(e), ct.secondsLeft(e, now)]).toEqual(['LAST_ACK', 29]);
    step(ct, tcp(C, ACK), now);
    expect([state(e), ct.secondsLeft(e, now)]).toEqual(['TIME_WAIT', 119]);

    // TIME_WAIT expires after 120 s on the virtual clock.
    ct.expire(now + 120 * SEC - 1);
    expect(ct.count).toBe(1);
    ct.expire(now + 120 * SEC);
    expect(ct.count).toBe(0);
    expect(ct.stats.expired).toBe(1);
  });

  it('a SYN in TIME_WAIT starts a new connection', () => {
    const ct = new Conntrack();
    for (const [p, f] of [
      [C, SYN],
      [S, SYN | ACK],
      [C, ACK],
      [C, FIN | ACK],
      [S, FIN | ACK],
      [C, ACK],
    ] as const)
      step(ct, tcp(p, f), 0);
    const old = ct.lookup(6, ipv4(C.src), ipv4(C.dst), C.sport, C.dport)!;
    expect(state(old)).toBe('TIME_WAIT');
    const syn = tcp(C, SYN);
    expect(step(ct, syn, SEC)).toBe(CT_TRK | CT_NEW);
    expect(syn.pkt.ctEntry).not.toBe(old);
    expect(state(syn.pkt.ctEntry as ConntrackEntry)).toBe('SYN_SENT');
    expect(ct.count).toBe(1);
  });

  it('a RST as the only reply deletes the entry; out-of-state segments are INVALID', () => {
    const ct = new Conntrack();
    step(ct, tcp(C, SYN), 0);
    const rst = tcp(S, RST | ACK);
    expect(step(ct, rst, 0)).toBe(CT_TRK | CT_EST | CT_RPL);
    expect(ct.count).toBe(0);
    // A SYN-ACK with no connection, and a FIN with none, are invalid (no entry created).
    expect(step(ct, tcp(S, SYN | ACK), 0)).toBe(CT_TRK | CT_INV);
    expect(step(ct, tcp(C, FIN | ACK), 0)).toBe(CT_TRK | CT_INV);
    expect(ct.count).toBe(0);
  });

  it('picks up a mid-stream ACK as ESTABLISHED with the unacknowledged timeout (nf_conntrack_tcp_loose)', () => {
    const ct = new Conntrack();
    const p = tcp(C, ACK);
    expect(step(ct, p, 0)).toBe(CT_TRK | CT_NEW);
    const e = p.pkt.ctEntry as ConntrackEntry;
    expect([state(e), ct.secondsLeft(e, 0)]).toEqual(['ESTABLISHED', 299]);
    step(ct, tcp(S, ACK), 0);
    step(ct, tcp(C, ACK), 0);
    expect([ct.secondsLeft(e, 0), (e.status & IPS_ASSURED) !== 0]).toEqual([431999, true]);
  });

  it('marks a segment with a bad TCP checksum INVALID and creates nothing', () => {
    const ct = new Conntrack();
    const p = tcp(C, SYN);
    p.pkt.data[p.l3 + 20 + 16]! ^= 0xff;
    expect(step(ct, p, 0)).toBe(CT_TRK | CT_INV);
    expect(p.pkt.ctEntry).toBeNull();
    expect(ct.stats.invalid).toBe(1);
  });

  it('does not enter the table until confirmed', () => {
    const ct = new Conntrack();
    const p = tcp(C, SYN);
    ct.track(p.pkt, p.l3, 0);
    expect(ct.count).toBe(0);
    expect(ct.lookup(6, ipv4(C.src), ipv4(C.dst), C.sport, C.dport)).toBeUndefined();
    expect(ct.confirm(p.pkt, 0)).toBe(true);
    expect(ct.lookup(6, ipv4(C.dst), ipv4(C.src), C.dport, C.sport)).toBe(p.pkt.ctEntry);
    expect(ct.lastDir).toBe(1);
  });
});

describe('conntrack: UDP and ICMP', () => {
  it('UDP: 30 s unreplied, 30 s replied within 2 s, then 120 s stream and ASSURED', () => {
    const ct = new Conntrack();
    const q = udp({ src: '10.128.0.5', dst: '172.30.0.10', sport: 5353, dport: 53 });
    expect(step(ct, q, 0)).toBe(CT_TRK | CT_NEW);
    const e = q.pkt.ctEntry as ConntrackEntry;
    expect(formatConntrackEntry(e, ct.secondsLeft(e, 0))).toBe(
      'udp      17 29 src=10.128.0.5 dst=172.30.0.10 sport=5353 dport=53 [UNREPLIED] src=172.30.0.10 dst=10.128.0.5 sport=53 dport=5353 mark=0 use=1',
    );
    expect(step(ct, udp({ src: '172.30.0.10', dst: '10.128.0.5', sport: 53, dport: 5353 }), SEC)).toBe(
      CT_TRK | CT_EST | CT_RPL,
    );
    expect(ct.secondsLeft(e, SEC)).toBe(29);
    expect(step(ct, udp({ src: '10.128.0.5', dst: '172.30.0.10', sport: 5353, dport: 53 }), 1.5 * SEC)).toBe(
      CT_TRK | CT_EST,
    );
    expect([ct.secondsLeft(e, 1.5 * SEC), (e.status & IPS_ASSURED) !== 0]).toEqual([29, false]);
    step(ct, udp({ src: '10.128.0.5', dst: '172.30.0.10', sport: 5353, dport: 53 }), 3 * SEC);
    expect([ct.secondsLeft(e, 3 * SEC), (e.status & IPS_ASSURED) !== 0]).toEqual([119, true]);
  });

  it('ICMP echo: request and reply share an entry keyed on the id; 30 s', () => {
    const ct = new Conntrack();
    const req = echo('10.128.0.5', '10.129.0.7', 8, 0x77);
    expect(step(ct, req, 0)).toBe(CT_TRK | CT_NEW);
    expect(step(ct, echo('10.129.0.7', '10.128.0.5', 0, 0x77), 0)).toBe(CT_TRK | CT_EST | CT_RPL);
    const e = req.pkt.ctEntry as ConntrackEntry;
    expect(formatConntrackTable(ct, 0)).toBe(
      'icmp     1 29 src=10.128.0.5 dst=10.129.0.7 type=8 code=0 id=119 src=10.129.0.7 dst=10.128.0.5 type=0 code=0 id=119 mark=0 use=1\n',
    );
    // Another id is another connection.
    expect(step(ct, echo('10.128.0.5', '10.129.0.7', 8, 0x78), 0)).toBe(CT_TRK | CT_NEW);
    expect(ct.count).toBe(2);
    ct.expire(30 * SEC);
    expect(ct.count).toBe(0);
    void e;
  });

  it('an ICMP error quoting a tracked packet is RELATED, in the direction it travels', () => {
    const ct = new Conntrack();
    const out = udp({ src: '10.128.0.5', dst: '10.129.0.7', sport: 4000, dport: 9 });
    step(ct, out, 0);
    const err = icmpError('10.129.0.7', '10.128.0.5', 3, 3, out);
    expect(step(ct, err, 0)).toBe(CT_TRK | CT_REL | CT_RPL);
    expect(err.pkt.ctEntry).toBe(out.pkt.ctEntry);
    // An error from a router on the way is still related (the outer source may be anyone).
    expect(step(ct, icmpError('192.168.0.1', '10.128.0.5', 11, 0, out), 0)).toBe(CT_TRK | CT_REL | CT_RPL);
    // Quoting an unknown packet, or addressed to someone else: INVALID.
    const other = udp({ src: '10.128.0.5', dst: '10.129.0.7', sport: 4001, dport: 9 });
    expect(step(ct, icmpError('10.129.0.7', '10.128.0.5', 3, 3, other), 0)).toBe(CT_TRK | CT_INV);
    expect(step(ct, icmpError('10.129.0.7', '10.128.0.99', 3, 3, out), 0)).toBe(CT_TRK | CT_INV);
  });
});

describe('conntrack: table limits and lookups', () => {
  it('when full, evicts an unassured entry (early drop)', () => {
    const ct = new Conntrack({ max: 2 });
    step(ct, udp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2 }), 0);
    step(ct, udp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 3, dport: 4 }), SEC);
    step(ct, udp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 5, dport: 6 }), 2 * SEC);
    expect([ct.count, ct.stats.earlyDrop, ct.stats.drop]).toEqual([2, 1, 0]);
    // The oldest went.
    expect(ct.lookup(17, ipv4('10.0.0.1'), ipv4('10.0.0.2'), 1, 2)).toBeUndefined();
  });

  it('when full of assured connections, drops new ones with "table full, dropping packet"', () => {
    const ct = new Conntrack({ max: 2 });
    for (const sport of [1, 3]) {
      const a: Ends = { src: '10.0.0.1', dst: '10.0.0.2', sport, dport: 80 };
      step(ct, tcp(a, SYN), 0);
      step(ct, tcp({ src: a.dst, dst: a.src, sport: 80, dport: sport }, SYN | ACK), 0);
      step(ct, tcp(a, ACK), 0);
    }
    const p = tcp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 5, dport: 80 }, SYN);
    expect(ct.track(p.pkt, p.l3, 0)).toBe(TRACK_DROP);
    expect([ct.count, ct.stats.drop, ct.lastMessage]).toEqual([2, 1, 'nf_conntrack: table full, dropping packet']);
    // Existing connections still work.
    const q = tcp({ src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 80 }, ACK);
    expect(ct.track(q.pkt, q.l3, 0)).toBe(TRACK_ACCEPT);
    expect(q.pkt.ctState).toBe(CT_TRK | CT_EST);
  });

  it('finds entries among many (hash chains), in both directions', () => {
    const ct = new Conntrack({ max: 1 << 20 });
    const base = ipv4('10.128.0.0');
    const p = udp({ src: '10.128.0.1', dst: '172.30.0.10', sport: 1000, dport: 53 });
    for (let i = 0; i < 50000; i++) {
      // Rewrite the source address in place: same buffer, new connection (checksum not verified here).
      p.pkt.data.writeUInt32BE((base + (i & 0xffff)) >>> 0, p.l3 + 12);
      p.pkt.data.writeUInt16BE(1000 + (i >>> 16), p.l3 + 20);
      ct.track(p.pkt, p.l3, 0, 0, false);
      ct.confirm(p.pkt, 0);
    }
    expect(ct.count).toBe(50000);
    for (const i of [0, 1, 4242, 49999]) {
      const src = (base + (i & 0xffff)) >>> 0;
      const e = ct.lookup(17, ipv4('172.30.0.10'), src, 53, 1000 + (i >>> 16));
      expect(e?.orig.src).toBe(src);
      expect(ct.lastDir).toBe(1);
    }
  });
});
