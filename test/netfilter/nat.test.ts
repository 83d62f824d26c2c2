import { describe, expect, it } from 'vitest';
import { fromHex, ipv4, readU16 } from '../../codecs/bytes.js';
import { finishChecksum, pseudoHeaderSum, sum16 } from '../../codecs/checksum.js';
import { Ipv4View } from '../../codecs/ipv4.js';
import { PacketBuffer } from '../../src/buffer/packet-buffer.js';
import { formatConntrackTable } from '../../src/netfilter/conntrack-format.js';
import { Netfilter } from '../../src/netfilter/evaluate.js';
import { parseIptablesSave } from '../../src/netfilter/iptables-restore.js';
import { Prng } from '../../src/netfilter/prng.js';
import { NF_ACCEPT } from '../../src/runtime/netfilter-hooks.js';
import { ACK, ETH, icmpError, inspect, ipHex, SYN, tcp, udp, type Ends } from './packets.js';

type P = { pkt: PacketBuffer; l3: number };

function nat(rules: string, interfaces: Record<string, number[]> = {}): Netfilter {
  return new Netfilter(
    parseIptablesSave(
      `*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n${rules}\nCOMMIT\n`,
    ),
    { interfaces },
  );
}

/** A router forwarding `p` from inIf to outIf: PREROUTING, TTL-1 (ip_forward), FORWARD, POSTROUTING. */
function route(nf: Netfilter, p: P, inIf: string, outIf: string): void {
  expect(nf.prerouting(p.pkt, p.l3, inIf)).toBe(NF_ACCEPT);
  new Ipv4View(p.pkt.data, p.l3).decrementTtl();
  expect(nf.forward(p.pkt, p.l3, inIf, outIf)).toBe(NF_ACCEPT);
  expect(nf.postrouting(p.pkt, p.l3, outIf)).toBe(NF_ACCEPT);
}

function fromIpHex(hex: string): P {
  const ip = fromHex(hex);
  const pkt = new PacketBuffer();
  const s = pkt.setFrame(ETH + ip.length);
  pkt.data.set(ip, s + ETH);
  return { pkt, l3: s + ETH };
}

const CLIENT: Ends = { src: '10.131.0.20', dst: '172.30.82.94', sport: 40000, dport: 8080 };

describe('NAT against the Linux kernel (kernel-reference.md, experiment (c))', () => {
  // example-nat.rules from shared/tools/kernelref, loaded by the kernel with iptables-restore.
  const rules =
    '-A PREROUTING -d 172.30.72.7/32 -p tcp -m tcp --dport 1433 -j DNAT --to-destination 10.128.2.24:1433\n-A POSTROUTING -o eth1 -j MASQUERADE';
  const ifs = { eth0: [ipv4('192.0.2.1')], eth1: [ipv4('198.51.100.1')] };

  it("DNAT + MASQUERADE of the SYN and un-NAT of the SYN-ACK give the kernel's bytes and conntrack lines", () => {
    const nf = nat(rules, ifs);
    const syn = tcp({ src: '10.131.0.40', dst: '172.30.72.7', sport: 41000, dport: 1433 }, SYN);
    route(nf, syn, 'eth0', 'eth1');
    // "forwarded" from kernelref nat-roundtrip (IPv4 part; the kernel kept source port 41000).
    expect(ipHex(syn)).toBe('45000028123440003f06f2cfc63364010a800218a0280599000003e8000000005002faf0d47b0000');
    expect(formatConntrackTable(nf.conntrack, 0).replace(/ +/g, ' ')).toBe(
      'tcp 6 119 SYN_SENT src=10.131.0.40 dst=172.30.72.7 sport=41000 dport=1433 [UNREPLIED] src=10.128.2.24 dst=198.51.100.1 sport=1433 dport=41000 mark=0 use=1\n',
    );
    // "reply-sent" -> "reply-delivered".
    const synack = fromIpHex('450000280000400040060404' + '0a800218c63364010599a0285eed0001000003e95012ffff706d0000');
    route(nf, synack, 'eth1', 'eth0');
    expect(ipHex(synack)).toBe('45000028000040003f063d00ac1e48070a8300280599a0285eed0001000003e95012ffffa8690000');
    expect(formatConntrackTable(nf.conntrack, 0).replace(/ +/g, ' ')).toBe(
      'tcp 6 59 SYN_RECV src=10.131.0.40 dst=172.30.72.7 sport=41000 dport=1433 src=10.128.2.24 dst=198.51.100.1 sport=1433 dport=41000 mark=0 use=1\n',
    );
  });

  it('a bad TCP checksum makes the packet INVALID: forwarded unchanged, no entry', () => {
    const nf = nat(rules, ifs);
    const syn = tcp({ src: '10.131.0.40', dst: '172.30.72.7', sport: 41000, dport: 1433 }, SYN);
    syn.pkt.data[syn.l3 + 36]! ^= 1;
    route(nf, syn, 'eth0', 'eth1');
    expect(inspect(syn).dst).toBe('172.30.72.7');
    expect(nf.conntrack.count).toBe(0);
  });

  it("the router's own time-exceeded for a DNATed packet leaves with the service address as source", () => {
    const nf = nat(rules, ifs);
    const syn = tcp({ src: '10.131.0.40', dst: '172.30.72.7', sport: 41000, dport: 1433 }, SYN, { ttl: 1 });
    expect(nf.prerouting(syn.pkt, syn.l3, 'eth0')).toBe(NF_ACCEPT);
    // TTL 1: ip_forward drops it and sends ICMP time exceeded quoting the (DNATed) header.
    const err = icmpError('192.0.2.1', '10.131.0.40', 11, 0, syn);
    nf.attachRelated(err.pkt, syn.pkt);
    expect(nf.output(err.pkt, err.l3, 'eth0')).toBe(NF_ACCEPT);
    expect(nf.postrouting(err.pkt, err.l3, 'eth0')).toBe(NF_ACCEPT);
    const outer = inspect(err);
    expect([outer.src, outer.dst, outer.valid]).toEqual(['172.30.72.7', '10.131.0.40', true]);
    // The quoted header is back to what the client sent.
    const inner = { pkt: err.pkt, l3: err.l3 + 28 };
    expect(new Ipv4View(err.pkt.data, inner.l3).dst).toBe(ipv4('172.30.72.7'));
    expect(new Ipv4View(err.pkt.data, inner.l3).checksumValid()).toBe(true);
    expect(readU16(err.pkt.data, inner.l3 + 22)).toBe(1433);
  });
});

describe('DNAT, SNAT, MASQUERADE', () => {
  it('DNATs a service address to an endpoint and un-DNATs the reply', () => {
    const nf = nat(
      '-A PREROUTING -d 172.30.82.94/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.131.0.40:8080',
    );
    const syn = tcp(CLIENT, SYN);
    route(nf, syn, 'tun0', 'tun0');
    expect(inspect(syn)).toEqual({ src: '10.131.0.20', dst: '10.131.0.40', sport: 40000, dport: 8080, valid: true });
    const reply = tcp({ src: '10.131.0.40', dst: '10.131.0.20', sport: 8080, dport: 40000 }, SYN | ACK);
    route(nf, reply, 'tun0', 'tun0');
    expect(inspect(reply)).toEqual({ src: '172.30.82.94', dst: '10.131.0.20', sport: 8080, dport: 40000, valid: true });
    expect(formatConntrackTable(nf.conntrack, 0)).toBe(
      'tcp      6 59 SYN_RECV src=10.131.0.20 dst=172.30.82.94 sport=40000 dport=8080 src=10.131.0.40 dst=10.131.0.20 sport=8080 dport=40000 mark=0 use=1\n',
    );
  });

  it('DNAT to another port (service port 80 -> targetPort 8080), reply back to port 80', () => {
    const nf = nat(
      '-A PREROUTING -d 172.30.82.94/32 -p tcp -m tcp --dport 80 -j DNAT --to-destination 10.131.0.40:8080',
    );
    const syn = tcp({ ...CLIENT, dport: 80 }, SYN, { payload: 33 });
    route(nf, syn, 'tun0', 'tun0');
    expect(inspect(syn)).toEqual({ src: '10.131.0.20', dst: '10.131.0.40', sport: 40000, dport: 8080, valid: true });
    const reply = tcp({ src: '10.131.0.40', dst: '10.131.0.20', sport: 8080, dport: 40000 }, SYN | ACK, { payload: 7 });
    route(nf, reply, 'tun0', 'tun0');
    expect(inspect(reply)).toEqual({ src: '172.30.82.94', dst: '10.131.0.20', sport: 80, dport: 40000, valid: true });
  });

  it('later packets reuse the binding without walking the nat table', () => {
    const nf = nat(
      '-A PREROUTING -d 172.30.82.94/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.131.0.40:8080',
    );
    route(nf, tcp(CLIENT, SYN), 'tun0', 'tun0');
    route(nf, tcp({ src: '10.131.0.40', dst: '10.131.0.20', sport: 8080, dport: 40000 }, SYN | ACK), 'tun0', 'tun0');
    const ack = tcp(CLIENT, ACK);
    route(nf, ack, 'tun0', 'tun0');
    expect(inspect(ack).dst).toBe('10.131.0.40');
    // The DNAT rule counted only the first packet (iptables-save -c would show [1:40]).
    expect(nf.ruleset.tables.get('nat')!.chains.get('PREROUTING')!.rules[0]!.packets).toBe(1);
  });

  it("MASQUERADE uses the outgoing interface's primary address and keeps a free source port", () => {
    const nf = nat('-A POSTROUTING -s 10.128.0.0/14 -o eth0 -j MASQUERADE', {
      eth0: [ipv4('192.168.0.4'), ipv4('192.168.0.100')],
    });
    const p = tcp({ src: '10.128.0.5', dst: '93.184.216.34', sport: 51000, dport: 443 }, SYN);
    route(nf, p, 'tun0', 'eth0');
    expect(inspect(p)).toEqual({ src: '192.168.0.4', dst: '93.184.216.34', sport: 51000, dport: 443, valid: true });
    const back = tcp({ src: '93.184.216.34', dst: '192.168.0.4', sport: 443, dport: 51000 }, SYN | ACK);
    route(nf, back, 'eth0', 'tun0');
    expect(inspect(back)).toEqual({ src: '93.184.216.34', dst: '10.128.0.5', sport: 443, dport: 51000, valid: true });
  });

  it('MASQUERADE picks another port when two pods use the same source port (1024-65535, seeded)', () => {
    const nf = nat('-A POSTROUTING -o eth0 -j MASQUERADE', { eth0: [ipv4('192.168.0.4')] });
    const a = tcp({ src: '10.128.0.5', dst: '93.184.216.34', sport: 51000, dport: 443 }, SYN);
    const b = tcp({ src: '10.128.0.6', dst: '93.184.216.34', sport: 51000, dport: 443 }, SYN);
    route(nf, a, 'tun0', 'eth0');
    route(nf, b, 'tun0', 'eth0');
    expect(inspect(a).sport).toBe(51000);
    const pb = inspect(b);
    expect(pb.valid).toBe(true);
    expect(pb.sport).not.toBe(51000);
    expect(pb.sport).toBeGreaterThanOrEqual(1024);
    // The kernel draws the offset with get_random_u16(); ours is the instance's seeded generator.
    expect(pb.sport).toBe(1024 + ((new Prng(0).nextU32() & 0xffff) % 64512));
  });

  it('SNAT to an egress IP for marked packets', () => {
    const nf = nat('-A POSTROUTING -s 10.128.0.0/14 -m mark --mark 0x10000aa -j SNAT --to-source 192.168.0.100');
    const p = udp({ src: '10.128.0.5', dst: '93.184.216.34', sport: 5000, dport: 53 });
    p.pkt.pktMark = 0x010000aa;
    route(nf, p, 'tun0', 'eth0');
    expect(inspect(p)).toEqual({ src: '192.168.0.100', dst: '93.184.216.34', sport: 5000, dport: 53, valid: true });
    const q = udp({ src: '10.128.0.5', dst: '93.184.216.34', sport: 5001, dport: 53 });
    q.pkt.pktMark = 0x010000ab;
    route(nf, q, 'tun0', 'eth0');
    expect(inspect(q).src).toBe('10.128.0.5');
  });

  it('keeps a zero UDP checksum zero', () => {
    const nf = nat('-A PREROUTING -p udp -m udp --dport 53 -j DNAT --to-destination 10.128.0.10:5353');
    const p = udp({ src: '10.128.0.5', dst: '172.30.0.10', sport: 5000, dport: 53 }, { noChecksum: true });
    route(nf, p, 'tun0', 'tun0');
    expect(readU16(p.pkt.data, p.l3 + 26)).toBe(0);
    expect(inspect(p)).toEqual({ src: '10.128.0.5', dst: '10.128.0.10', sport: 5000, dport: 5353, valid: true });
  });

  it('rewrites the header quoted in an ICMP error from the endpoint (RELATED), with valid checksums', () => {
    const nf = nat('-A PREROUTING -d 172.30.0.10/32 -p udp -m udp --dport 53 -j DNAT --to-destination 10.128.2.9:5353');
    const q = udp({ src: '10.128.0.5', dst: '172.30.0.10', sport: 5000, dport: 53 }, { payload: 12 });
    route(nf, q, 'tun0', 'tun0');
    // The endpoint answers port unreachable, quoting the whole (DNATed) datagram.
    const err = icmpError('10.128.2.9', '10.128.0.5', 3, 3, q, 64);
    route(nf, err, 'tun0', 'tun0');
    const outer = inspect(err);
    expect([outer.src, outer.dst, outer.valid]).toEqual(['172.30.0.10', '10.128.0.5', true]);
    const inner = inspect({ pkt: err.pkt, l3: err.l3 + 28 });
    expect(inner).toEqual({ src: '10.128.0.5', dst: '172.30.0.10', sport: 5000, dport: 53, valid: true });
  });
});

describe('NAT property: DNAT, reply, un-DNAT', () => {
  /** Full recomputation of the L4 checksum (field zeroed), for comparison with the incremental one. */
  function recompute(p: P): number {
    const b = Buffer.from(p.pkt.data);
    const v = new Ipv4View(b, p.l3);
    const l4 = p.l3 + 20;
    const len = v.totalLength - 20;
    const at = v.protocol === 6 ? l4 + 16 : l4 + 6;
    b[at] = b[at + 1] = 0;
    const c = finishChecksum(sum16(b, l4, len, pseudoHeaderSum(v.src, v.dst, v.protocol, len)));
    return v.protocol === 17 && c === 0 ? 0xffff : c;
  }

  it('returns the original addresses and ports with checksums equal to a full recompute', () => {
    const rng = new Prng(12345);
    const ip = (): string => [10, rng.nextU32() & 255, rng.nextU32() & 255, 1 + (rng.nextU32() % 254)].join('.');
    for (let i = 0; i < 300; i++) {
      const proto = i % 2 ? 'tcp' : 'udp';
      const client: Ends = {
        src: ip(),
        dst: `172.30.${rng.nextU32() & 255}.${1 + (rng.nextU32() % 254)}`,
        sport: 1 + (rng.nextU32() % 65535),
        dport: 1 + (rng.nextU32() % 65535),
      };
      const ep = ip();
      const epPort = 1 + (rng.nextU32() % 65535);
      const nf = nat(`-A PREROUTING -d ${client.dst}/32 -p ${proto} -j DNAT --to-destination ${ep}:${epPort}`);
      const payload = rng.nextU32() % 40;
      const fwd = proto === 'tcp' ? tcp(client, SYN, { payload }) : udp(client, { payload });
      route(nf, fwd, 'tun0', 'tun0');
      expect(inspect(fwd)).toEqual({ src: client.src, dst: ep, sport: client.sport, dport: epPort, valid: true });
      expect(readU16(fwd.pkt.data, fwd.l3 + (proto === 'tcp' ? 36 : 26))).toBe(recompute(fwd));
      const back: Ends = { src: ep, dst: client.src, sport: epPort, dport: client.sport };
      const rep = proto === 'tcp' ? tcp(back, SYN | ACK, { payload }) : udp(back, { payload });
      route(nf, rep, 'tun0', 'tun0');
      expect(inspect(rep)).toEqual({
        src: client.dst,
        dst: client.src,
        sport: client.dport,
        dport: client.sport,
        valid: true,
      });
      expect(readU16(rep.pkt.data, rep.l3 + (proto === 'tcp' ? 36 : 26))).toBe(recompute(rep));
    }
  });
});
