/**
 * `packetwalk replay` on captures Scapy, editcap and mergecap wrote (test/fixtures/captures, README there): what
 * each frame meets in the emulated data path, what the emulated hosts answer, the summary's accounting of every
 * record, the capture's timing on the virtual clock, and broken files stopping after what came before was written.
 */

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readPcapng } from '../../codecs/pcapng.js';
import { summarize } from '../../codecs/summary.js';
import { builtinClusterDocuments } from '../../src/cluster/builtin.js';
import { findScenario } from '../../src/scenarios/catalog.js';
import { runReplay, type ReplayResult } from '../../src/replay/replay.js';
import { ReplayPointError } from '../../src/replay/point.js';
import { unaccounted } from '../../src/replay/summary.js';
import { hasTshark, TSHARK_MISSING, tsharkProblems } from '../helpers/tshark.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'captures');
const SQLAPI = 'project1/sqlapi-1-8jgx8';
const WORKER1 = 'aro2-p8bjm-worker-northeurope1-qt8l7';
const WORKER3 = 'aro2-p8bjm-worker-northeurope3-wl4vw';
const tmp = mkdtempSync(join(tmpdir(), 'packetwalk-replay-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function replay(file: string, at: string, outDir?: string, traceLimit?: number): ReplayResult {
  const r = runReplay({
    file: join(DIR, file),
    at,
    baseDocuments: builtinClusterDocuments(),
    clusterFile: '<builtin>',
    seed: 1,
    outDir,
    traceLimit,
  });
  expect(unaccounted(r.summary), 'every record accounted for').toBe(0);
  return r;
}

/** What each capture point saw, as `point dir summary` lines (MACs left out). */
function hops(r: ReplayResult): string[] {
  return r.recorder.frames.map(
    (f) =>
      `${r.recorder.points[f.point]!.name} ${f.direction === 'outbound' ? '>' : '<'} ${summarize(f.bytes!).replace(/(?:[0-9a-f]{2}:){5}[0-9a-f]{2} > (?:[0-9a-f]{2}:){5}[0-9a-f]{2}, (?:IPv4, )?/, '')}`,
  );
}

describe('a pod-side capture: ARP, SYN to a service, SYN-ACK, ACK (tcpdump -i eth0 in sqlapi, made with Scapy)', {
  timeout: 60_000,
}, () => {
  const r = replay('pod-syn-to-service.pcap', SQLAPI);

  it('injects what the pod sent and leaves what it received to the emulation', () => {
    expect(r.summary.read).toBe(5);
    expect(r.summary.injected).toBe(3);
    expect(r.summary.notInjected.examples.map((x) => x.record)).toEqual([2, 4]);
    expect(r.summary.notInjected.count).toBe(2);
    expect(r.error).toBeUndefined();
  });

  it('the SYN reaches server-1-ppl25 through DNAT and VXLAN, and its SYN-ACK comes back through every hop to the pod', () => {
    const h = hops(r);
    const synack = h.filter((l) => l.includes('Flags [S.]'));
    expect(synack[0]).toMatch(/^server-1-ppl25\/eth0 > 10\.128\.2\.24\.1433 > 10\.131\.0\.40\.40000/);
    expect(synack.at(-1)).toMatch(/^sqlapi-1-8jgx8\/eth0 < 172\.30\.72\.7\.1433 > 10\.131\.0\.40\.40000/); // un-DNATed on worker1
    expect(synack.some((l) => l.startsWith('worker-northeurope3-wl4vw/eth0 > ') && l.includes('VXLAN'))).toBe(true);
    expect(r.summary.delivered['project1/server-1-ppl25']).toBe(1);
  });

  it("the captured ACK acknowledges another ISN than the emulated server's: the server resets, as Linux does", () => {
    const drop = Object.keys(r.summary.dropped);
    expect(drop).toEqual([
      expect.stringMatching(/^project1\/server-1-ppl25: TCP SYN_RECEIVED: ACK 777001 does not acknowledge our SYN-ACK/),
    ]);
    expect(r.summary.sent['TCP RST from project1/server-1-ppl25']).toBe(1);
    expect(hops(r).at(-1)).toMatch(
      /^sqlapi-1-8jgx8\/eth0 < 172\.30\.72\.7\.1433 > 10\.131\.0\.40\.40000: Flags \[R\], seq 777001/,
    );
  });

  it("rewrites the capture's tun0 MAC (a MAC of the real node) to the emulated tun0's and says so in the trace", () => {
    const syn = r.packets.find((p) => p.label.startsWith('capture #3'))!;
    const notes = syn.trace.root.map((n) => n.text).filter((t) => t.startsWith('replay:'));
    expect(notes[1]).toMatch(
      /^replay: destination MAC b6:1f:3c:5e:7a:91 is no interface of this cluster; rewritten to .*: project1\/sqlapi-1-8jgx8's route to 172\.30\.72\.7 via 10\.131\.0\.1: tun0 of aro2-p8bjm-worker-northeurope1-qt8l7/,
    );
  });

  it("keeps the capture's relative timing on the virtual clock", () => {
    const at = (n: number) =>
      r.recorder.frames.find((f) => f.walkIndex === r.packets.find((p) => p.label.startsWith(`capture #${n}`))!.index)!
        .timeNs;
    expect(at(1)).toBe(0);
    expect(at(3)).toBe(500_000);
    expect(at(5)).toBe(1_000_000);
  });

  it("counts the frames that came back to the capture's host", () => {
    // ARP reply, SYN-ACK, the server's ARP request for the pod (the kernel stand-in answers it), RST.
    expect(r.summary.answered).toBe(4);
  });
});

describe('the same capture in every format other tools write gives the same walk, byte for byte', {
  timeout: 60_000,
}, () => {
  const ref = replay('pod-syn-to-service.pcap', SQLAPI).recorder.memoryPcapng();
  it.each([
    'pod-syn-to-service.pcapng',
    'pod-syn-to-service-ns.pcap',
    'pod-syn-to-service-be-ns.pcap',
    'pod-syn-to-service-ns.pcapng',
    'pod-syn-to-service-be.pcapng',
    'pod-syn-to-service-from-pcapng.pcap',
    'pod-syn-to-service-cooked-v1.pcap', // tcpdump -i any before libpcap 1.10: MACs rebuilt from the cooked header
    'pod-syn-to-service-cooked-v2.pcap', // tcpdump -i any with libpcap >= 1.10
    'pod-syn-to-service-cooked-v2-be.pcapng',
  ])('%s', (file) => {
    const r = replay(file, SQLAPI);
    expect(r.summary.injected).toBe(3);
    expect(Buffer.compare(r.recorder.memoryPcapng(), ref)).toBe(0);
  });

  it.each(['pod-ttl1-raw.pcap', 'pod-ttl1-ipv4.pcap', 'pod-ttl1.pcapng'])(
    '%s walks as the Ethernet pod-ttl1.pcap does',
    (file) => {
      const ref1 = replay('pod-ttl1.pcap', SQLAPI).recorder.memoryPcapng();
      const r = replay(file, SQLAPI);
      expect(Buffer.compare(r.recorder.memoryPcapng(), ref1)).toBe(0);
      if (file.includes('raw') || file.includes('ipv4')) {
        const notes = r.packets[0]!.trace.root.map((n) => n.text).filter((t) =>
          t.startsWith('replay: Ethernet header synthesised'),
        );
        expect(notes).toEqual([
          expect.stringMatching(
            /for the raw-IP record .*source 0a:58:0a:83:00:28 \(project1\/sqlapi-1-8jgx8 eth0's MAC\)/,
          ),
        ]);
      }
    },
  );

  it("the trace says what a cooked record's Ethernet header was made of", () => {
    const r = replay('pod-syn-to-service-cooked-v2.pcap', SQLAPI);
    const syn = r.packets.find((p) => p.label.startsWith('capture #3'))!;
    expect(syn.trace.root.map((n) => n.text)).toContainEqual(
      expect.stringMatching(
        /^replay: Ethernet header synthesised for the cooked header \(link type 276\): destination .* \(project1\/sqlapi-1-8jgx8's route to 172\.30\.72\.7 via 10\.131\.0\.1: tun0 of .*\), source 0a:58:0a:83:00:28 \(the link-layer address in the cooked header\), EtherType 0x0800/,
      ),
    );
  });
});

describe('frames a real data path drops, dropped for the same reason', { timeout: 60_000 }, () => {
  it('a spoofed source IP and an ARP with a spoofed sender MAC: br0 table 20', () => {
    const r = replay('pod-spoofed.pcap', SQLAPI);
    expect(r.summary.dropped).toEqual({
      [`${WORKER1}: br0: table 20 priority 0 drop (source IP (or ARP sender MAC) is not the pod's own: OpenShift SDN's anti-spoofing)`]: 2,
    });
  });

  it('VXLAN from an address that is no node: br0 table 10', () => {
    const r = replay('node-vxlan-unknown-node.pcap', `${WORKER3}/eth0`);
    expect(Object.keys(r.summary.dropped)).toEqual([
      expect.stringMatching(new RegExp(`^${WORKER3}: br0: table 10 priority 0 drop`)),
    ]);
    expect(hops(r).map((l) => l.split(' ')[0])).toEqual([
      'worker-northeurope3-wl4vw/eth0',
      'worker-northeurope3-wl4vw/vxlan0',
    ]);
  });

  it('TTL 1 forwarded by the node: ICMP time exceeded back to the pod', () => {
    const r = replay('pod-ttl1.pcap', SQLAPI);
    expect(r.summary.dropped).toEqual({ [`${WORKER1}: TTL expired forwarding to 203.0.113.10`]: 1 });
    expect(hops(r).at(-1)).toMatch(
      /^sqlapi-1-8jgx8\/eth0 < 10\.131\.0\.1 > 10\.131\.0\.40: ICMP time exceeded in-transit/,
    );
  });

  it('DF and over the MTU where the node kernel forwards: ICMP fragmentation needed with MTU 1450', () => {
    const r = replay('node-df-oversize.pcap', `${WORKER1}/eth0`);
    expect(r.summary.dropped).toEqual({ [`${WORKER1}: 1500-byte packet with DF exceeds tun0 MTU 1450`]: 1 });
    const icmp = hops(r).filter((l) => l.includes('need to frag'));
    expect(icmp[0]).toMatch(
      /^worker-northeurope1-qt8l7\/eth0 > 192\.168\.0\.4 > 203\.0\.113\.10: ICMP 10\.131\.0\.40 unreachable - need to frag \(mtu 1450\)/,
    );
    expect(icmp.at(-1)).toMatch(/^external\/eth0 < /);
  });

  it('over the MTU of a br0 port (a pod sending more than its MTU): OVS drops it, no ICMP (ovs_vport_send)', () => {
    const r = replay('pod-df-oversize.pcap', SQLAPI);
    expect(r.summary.dropped).toEqual({
      [`${WORKER1}: br0: dropped over-mtu packet on tun0: 1500 > 1450 (ovs_vport_send)`]: 1,
    });
    expect(hops(r).map((l) => l.split(' ')[0])).toEqual([
      'sqlapi-1-8jgx8/eth0',
      'worker-northeurope1-qt8l7/veth82b50993',
    ]);
  });

  it('a bad IPv4 header checksum: the node kernel drops it on tun0 (OVS forwards it unchecked)', () => {
    const r = replay('pod-bad-checksum.pcap', SQLAPI);
    expect(r.summary.dropped).toEqual({ [`${WORKER1}: tun0: bad IPv4 header checksum`]: 1 });
  });

  it('a port nobody listens on: ICMP port unreachable for UDP, RST for TCP', () => {
    const r = replay('pod-no-listener.pcap', SQLAPI);
    expect(r.summary.dropped).toEqual({
      'project1/server-1-ppl25: no socket for UDP port 9999': 1,
      'project1/server-1-ppl25: no socket for TCP port 9999': 1,
    });
    const back = hops(r).filter((l) => l.startsWith('sqlapi-1-8jgx8/eth0 <') && !l.includes('ARP'));
    expect(back[0]).toMatch(/10\.128\.2\.24 > 10\.131\.0\.40: ICMP 10\.128\.2\.24 udp port 9999 unreachable/);
    expect(back[1]).toMatch(/10\.128\.2\.24\.9999 > 10\.131\.0\.40\.48001: Flags \[R\.\]/);
  });
});

describe('VXLAN captured on a node NIC', { timeout: 60_000 }, () => {
  const r = replay('node-vxlan.pcap', `${WORKER3}/eth0`);
  it("decapsulates it and delivers the inner SYN; the node's own VXLAN answer in the capture is not injected", () => {
    expect(r.summary.delivered).toEqual({ 'project1/server-1-ppl25': 1 });
    expect(r.summary.notInjected).toEqual({
      count: 1,
      examples: [{ record: 2, why: `sent by ${WORKER3}/eth0 (source 192.168.0.5)` }],
    });
    const h = hops(r);
    expect(h.slice(0, 4).map((l) => l.split(' ')[0])).toEqual([
      'worker-northeurope3-wl4vw/eth0',
      'worker-northeurope3-wl4vw/vxlan0',
      'worker-northeurope3-wl4vw/vethe0826d26',
      'server-1-ppl25/eth0',
    ]);
    // The emulated server answers; its SYN-ACK goes back over VXLAN to worker1.
    expect(h.some((l) => l.startsWith('worker-northeurope1-qt8l7/eth0 <') && l.includes('Flags [S.]'))).toBe(true);
  });
});

describe('records that are no frame here are counted by fault and the replay goes on', { timeout: 60_000 }, () => {
  it('an 802.11 interface next to an Ethernet one (mergecap)', () => {
    const r = replay('mixed-linktypes.pcapng', SQLAPI);
    expect(r.summary.unparseable).toEqual({ 'capture unsupported': { count: 1, first: 1, example: 'link type 127' } });
    expect(r.summary.injected).toBe(2);
  });
});

describe('broken captures: the records before the broken byte are replayed and written, then the error', {
  timeout: 60_000,
}, () => {
  it.each([
    [
      'broken-truncated.pcap',
      /broken-truncated\.pcap: byte 288: pcap truncated: record data: have 16 of 54 bytes \(the 4 records before it were replayed\)$/,
      4,
    ],
    [
      'broken-lying-block.pcapng',
      /broken-lying-block\.pcapng: byte 204: pcapng bad-block: block total length 80 disagrees with its trailing copy 6 at byte 280/,
      1,
    ],
    [
      'broken-over-snaplen.pcap',
      /broken-over-snaplen\.pcap: byte 222: pcap bad-length: incl_len 1514 > snaplen 1000/,
      3,
    ],
    ['broken-empty.pcap', /broken-empty\.pcap: byte 0: capture truncated: empty file/, 0],
    ['broken-bad-magic.pcap', /broken-bad-magic\.pcap: byte 0: capture bad-magic/, 0],
  ])('%s', (file, message, before) => {
    const out = join(tmp, file);
    const r = replay(file, SQLAPI, out);
    expect(r.error?.message).toMatch(message);
    expect(r.summary.read).toBe(before);
    for (const f of ['walk.pcapng', 'trace.txt', 'trace.json', 'path.svg', 'walk.html', '.packetwalk.json'])
      expect(existsSync(join(out, f)), f).toBe(true);
    const written = readPcapng(readFileSync(join(out, 'walk.pcapng'))).packets.length;
    expect(written).toBe(r.recorder.frames.length);
    // walk.html steps through every frame written.
    const page = JSON.parse(
      /<script type="application\/json" id="walk-data">(.*?)<\/script>/s.exec(
        readFileSync(join(out, 'walk.html'), 'utf8'),
      )![1]!,
    ) as { packets: { hops: unknown[] }[] };
    expect(page.packets.reduce((n, p) => n + p.hops.length, 0)).toBe(written);
    if (before > 0) expect(written).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(join(out, 'trace.json'), 'utf8')).summary.error).toMatch(message);
  });
});

describe('points', { timeout: 60_000 }, () => {
  it('names what it cannot find', () => {
    expect(() => replay('pod-ttl1.pcap', 'project1/nope')).toThrow(ReplayPointError);
    expect(() => replay('pod-ttl1.pcap', 'project1/sqlapi-pod')).toThrow(/hostNetwork pod; replay at its node's NIC/);
    expect(() => replay('pod-ttl1.pcap', `${WORKER1}/tun0`)).toThrow(/a node's replay point is its NIC/);
  });

  it('the external host transmitting: a destination the gateway has no route for (ICMP net unreachable)', () => {
    // sqlapi's records name neither address of the external host: all are injected as if it sent them.
    const r = replay('pod-syn-to-service.pcap', 'external');
    expect(r.summary.injected).toBe(5);
    expect(r.recorder.points[r.recorder.frames[0]!.point]!.name).toBe('external/eth0');
    expect(r.summary.dropped).toEqual({
      'underlay-gateway: no route to 172.30.72.7': 2,
      'internet: no station with MAC 0a:58:0a:83:00:28 on internet': 2,
    });
    expect(r.summary.consumed).toEqual({
      'underlay-gateway: eth1: ARP for 10.131.0.1 ignored (not a local address)': 1,
    });
    expect(r.summary.sent['ICMP unreachable from underlay-gateway']).toBe(2);
  });

  it("NetworkPolicy: with the networkpolicy-deny scenario's policies, port 9999 is dropped at worker3 table 80", () => {
    const docs = findScenario('networkpolicy-deny')!.editDocuments!(builtinClusterDocuments());
    const r = runReplay({
      file: join(DIR, 'pod-no-listener.pcap'),
      at: SQLAPI,
      baseDocuments: docs,
      clusterFile: '<builtin + policies>',
    });
    expect(unaccounted(r.summary)).toBe(0);
    expect(r.summary.dropped).toEqual({
      [`${WORKER3}: br0: table 80 priority 0 drop (NetworkPolicy / project isolation (VNID))`]: 2,
    });
  });
});

describe('past the trace limit', { timeout: 60_000 }, () => {
  it.each([0, 1, 2])(
    'trace limit %i: the same outcomes and the same capture bytes as a fully traced replay',
    (limit) => {
      for (const [file, at] of [
        ['pod-syn-to-service.pcap', SQLAPI],
        ['pod-no-listener.pcap', SQLAPI],
        ['pod-spoofed.pcap', SQLAPI],
        ['node-vxlan.pcap', `${WORKER3}/eth0`],
      ] as const) {
        const full = replay(file, at);
        const cut = replay(file, at, undefined, limit);
        expect(cut.summary.traced).toBe(Math.min(limit, full.summary.injected));
        for (const k of [
          'read',
          'injected',
          'delivered',
          'dropped',
          'consumed',
          'inFlight',
          'answered',
          'notInjected',
        ] as const)
          expect(cut.summary[k], `${file} ${k}`).toEqual(full.summary[k]);
        expect(Buffer.compare(cut.recorder.memoryPcapng(), full.recorder.memoryPcapng()), file).toBe(0);
      }
    },
  );
});

describe('determinism and Wireshark', { timeout: 60_000 }, () => {
  it('the same capture and seed give the same bytes', () => {
    const a = replay('node-vxlan.pcap', `${WORKER3}/eth0`).recorder.memoryPcapng();
    const b = replay('node-vxlan.pcap', `${WORKER3}/eth0`).recorder.memoryPcapng();
    expect(Buffer.compare(a, b)).toBe(0);
  });

  it.skipIf(!hasTshark)('tshark finds no malformed frame or bad checksum in what the replay wrote', () => {
    if (!hasTshark) console.warn(TSHARK_MISSING);
    const out = join(tmp, 'tshark');
    replay('pod-syn-to-service-cooked-v2.pcap', SQLAPI, out);
    const noise = [
      /retransmission/i,
      /ACKed segment that wasn't captured/i,
      /Previous segment/i,
      /out-of-order/i,
      /Dup(licate)? ACK/i,
      /spurious/i,
      /Connection reset/i,
      /port numbers reused/i,
    ];
    expect(tsharkProblems(join(out, 'walk.pcapng'), { ignore: noise })).toEqual([]);
  });
});

describe('the gateway point', { timeout: 60_000 }, () => {
  it('a frame arriving from the external side with TTL 1: the gateway answers time exceeded', () => {
    const r = replay('pod-ttl1.pcap', 'gateway');
    expect(r.summary.injected).toBe(1);
    expect(r.summary.dropped).toEqual({ 'underlay-gateway: TTL expired forwarding to 203.0.113.10': 1 });
    expect(r.summary.sent['ICMP time exceeded from underlay-gateway']).toBe(1);
    const first = r.recorder.frames[0]!;
    expect([r.recorder.points[first.point]!.name, first.direction]).toEqual(['gateway/eth1', 'inbound']);
  });
});
