/**
 * The page's layer tree agrees with the project's dissector: for every frame of every scenario, the same layers
 * at the same offsets; every field inside its frame and named in the filter's vocabulary; every checksum of a
 * scenario frame good. A hand-built frame checks field values and meanings, and a corrupted one the bad marks.
 */

import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { readPcapng } from '../../codecs/pcapng.js';
import { describeFrame, dissectorLayers, PAGE_FILTER_NAMES } from '../../src/page/frame-fields.js';
import type { PageField } from '../../src/page/types.js';
import { SCENARIOS } from '../../src/scenarios/catalog.js';
import { builtinClusterDocuments } from '../../src/cluster/builtin.js';
import { runScenario } from '../../src/scenarios/run-scenario.js';

const PROTO: Record<string, string> = {
  eth: 'eth',
  vlan: 'vlan',
  arp: 'arp',
  ipv4: 'ip',
  icmp: 'icmp',
  udp: 'udp',
  tcp: 'tcp',
  vxlan: 'vxlan',
  payload: 'data',
  padding: 'padding',
};
const known = new Set(PAGE_FILTER_NAMES);

function allFields(fields: PageField[], out: PageField[] = []): PageField[] {
  for (const f of fields) {
    out.push(f);
    if (f.children) allFields(f.children, out);
  }
  return out;
}

// A TCP SYN with options as a pod sends it: frame 7 of the pod-to-service-cross-node golden capture. The
// expected values are tshark's for that frame (ip.checksum 0x762b, ip.ttl 64, tcp.checksum 0x57f5, MSS 1410,
// window scale 7, ip.flags 0x2).
const SYN = readPcapng(readFileSync('pcaps/pod-to-service-cross-node/walk.pcapng')).packets[6]!.data;

describe('page layer tree', () => {
  for (const s of SCENARIOS) {
    it(`${s.name}: every frame decodes into the dissector's layers, fields in range and in the filter vocabulary`, () => {
      const r = runScenario(s, { baseDocuments: builtinClusterDocuments(), clusterFile: '<builtin>', seed: 1 });
      expect(r.recorder.frames.length).toBeGreaterThan(0);
      for (const f of r.recorder.frames) {
        const bytes = f.bytes!;
        const d = describeFrame(bytes);
        const want = dissectorLayers(bytes);
        expect(
          d.layers.map((l) => [l.proto, l.offset, l.length]),
          `frame ${f.number}`,
        ).toEqual(want.map((l) => [PROTO[l.kind], l.offset, l.length]));
        expect(d.fault, `frame ${f.number}`).toBeUndefined();
        for (const l of d.layers) {
          expect(known.has(l.proto)).toBe(true);
          for (const fld of allFields(l.fields)) {
            expect(known.has(fld.abbrev), fld.abbrev).toBe(true);
            expect(fld.offset).toBeGreaterThanOrEqual(l.offset);
            expect(fld.offset + fld.length).toBeLessThanOrEqual(bytes.length);
            expect(fld.status, `frame ${f.number} ${fld.abbrev}`).not.toBe('bad');
          }
        }
      }
    });
  }

  it('names and explains the fields of a TCP SYN', () => {
    const d = describeFrame(SYN);
    expect(d.layers.map((l) => l.proto)).toEqual(['eth', 'ip', 'tcp']);
    expect(SYN.length).toBe(66);
    const f = Object.fromEntries(d.layers.flatMap((l) => allFields(l.fields)).map((x) => [x.abbrev, x]));
    expect(f['eth.dst']).toMatchObject({ show: 'f6:0d:bc:1f:a8:e2', offset: 0, length: 6 });
    expect(f['eth.type']).toMatchObject({ show: '0x0800', meaning: 'IPv4' });
    expect(f['ip.flags']).toMatchObject({ show: '0x2', meaning: "Don't fragment" });
    expect(f['ip.flags.df']).toMatchObject({ show: 'Set', meaning: ".1.. .... .... .... = Don't fragment: Set" });
    expect(f['ip.ttl']).toMatchObject({ show: '64', value: 64, offset: 22, length: 1 });
    expect(f['ip.proto']).toMatchObject({ show: '6', meaning: 'TCP' });
    expect(f['ip.src']).toMatchObject({ show: '10.131.0.40', offset: 26 });
    expect(f['ip.dst']).toMatchObject({ show: '172.30.72.7', offset: 30 });
    expect(f['ip.checksum']).toMatchObject({ show: '0x762b', status: 'good', meaning: 'correct' });
    expect(f['tcp.srcport']).toMatchObject({ value: 41174 });
    expect(f['tcp.dstport']).toMatchObject({ value: 1433, meaning: 'ms-sql-s' });
    expect(f['tcp.flags']).toMatchObject({ show: '0x002', meaning: 'SYN' });
    expect(f['tcp.flags.syn']).toMatchObject({ show: 'Set' });
    expect(f['tcp.flags.ack']).toMatchObject({ show: 'Not set' });
    expect(f['tcp.checksum']).toMatchObject({ show: '0x57f5', status: 'good' });
    expect(f['tcp.options.mss_val']).toMatchObject({ show: '1410 bytes' });
    expect(f['tcp.options.wscale.shift']).toMatchObject({ show: '7', meaning: 'multiply by 128' });
    expect(d.layers[2]!.title).toBe(
      'Transmission Control Protocol, Src Port: 41174, Dst Port: 1433, Flags: [SYN], Len: 0',
    );
  });

  it('marks bad checksums and reports the dissector fault', () => {
    const bad = Uint8Array.from(SYN);
    bad[24]! ^= 0xff; // IPv4 header checksum
    bad[50]! ^= 0x01; // TCP checksum
    const d = describeFrame(bad);
    const f = Object.fromEntries(d.layers.flatMap((l) => allFields(l.fields)).map((x) => [x.abbrev, x]));
    expect(f['ip.checksum']).toMatchObject({ status: 'bad', meaning: 'incorrect' });
    expect(f['tcp.checksum']).toMatchObject({ status: 'bad' });
    expect(d.fault).toMatch(/^ipv4: bad-checksum at byte 24/);
  });

  it('keeps the good outer layers of a truncated frame', () => {
    const d = describeFrame(SYN.subarray(0, 44)); // the TCP header cut after 10 of its 32 bytes
    expect(d.layers.map((l) => l.proto)).toEqual(['eth', 'ip']);
    expect(d.fault).toMatch(/^ipv4: bad-length|^tcp: truncated/);
  });
});
