/**
 * Properties of every codec over random and mutated input: emit -> parse -> emit round trips at any offset, and the
 * dissector (and the tcpdump-style summary) never throws and never reads outside the bytes it is given — checked
 * by dissecting each frame inside a larger buffer twice, with different bytes around it, and demanding the same
 * result with every layer inside the frame.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DecodeError,
  type Ipv4Header,
  type TcpHeader,
  Dissection,
  dissect,
  emitArp,
  emitEthernet,
  emitIcmp,
  emitIpv4,
  emitTcp,
  emitUdp,
  emitVxlan,
  parseArp,
  parseEthernet,
  parseIcmp,
  parseIpv4,
  parseTcp,
  parseUdp,
  parseVxlan,
  summarize,
} from '../../codecs/index.js';
import { fuzzFrame, type Vocabulary } from '../../fuzz/frames.js';

const VOCAB: Vocabulary = {
  ips: [0x0a830028, 0x0a800218, 0xac1e4807, 0xc0a80004, 0xc0a80005, 0xcb00710a],
  macs: [0x0a580a830028, 0x0a580a800218, 0xffffffffffff],
  ports: [1433, 8080, 4789, 53],
};
const u16 = fc.integer({ min: 0, max: 0xffff }),
  u32 = fc.integer({ min: 0, max: 0xffffffff }),
  mac = fc.integer({ min: 0, max: 2 ** 48 - 1 });
const offset = fc.integer({ min: 0, max: 64 });

/** Emit at `o` into a buffer of junk, parse back, emit again elsewhere: same bytes. */
function roundTrip<H>(
  emit: (h: H, b: Uint8Array, o: number) => number,
  parse: (b: Uint8Array, o: number, end: number) => H,
  h: H,
  o: number,
): H {
  const a = new Uint8Array(o + 2048).fill(0xa5);
  const n = emit(h, a, o);
  const back = parse(a, o, o + n);
  const b = new Uint8Array(n + 7).fill(0x5a);
  expect(emit(back, b, 7)).toBe(n);
  expect(Buffer.from(b.subarray(7, 7 + n)).equals(Buffer.from(a.subarray(o, o + n)))).toBe(true);
  return back;
}

describe('codec round trips', () => {
  it('Ethernet (with and without a VLAN tag)', () => {
    fc.assert(
      fc.property(
        mac,
        mac,
        u16,
        fc.option(
          fc.record({ pcp: fc.integer({ min: 0, max: 7 }), dei: fc.boolean(), vid: fc.integer({ min: 0, max: 4095 }) }),
          { nil: undefined },
        ),
        offset,
        (dst, src, ethertype, vlan, o) => {
          const h = roundTrip(
            emitEthernet,
            (b, off, end) => parseEthernet(b, off, end).header,
            { dst, src, ethertype: vlan ? ethertype : ethertype === 0x8100 ? 0x0800 : ethertype, vlan },
            o,
          );
          expect(h.dst).toBe(dst);
        },
      ),
      { numRuns: 500 },
    );
  });
  it('ARP', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 }),
        mac,
        u32,
        mac,
        u32,
        offset,
        (op, senderMac, senderIp, targetMac, targetIp, o) => {
          expect(roundTrip(emitArp, parseArp, { op, senderMac, senderIp, targetMac, targetIp }, o)).toEqual({
            op,
            senderMac,
            senderIp,
            targetMac,
            targetIp,
          });
        },
      ),
      { numRuns: 500 },
    );
  });
  it('IPv4 (options, flags, fragments; checksum computed)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 63 }),
        fc.integer({ min: 0, max: 3 }),
        u16,
        fc.boolean(),
        fc.integer({ min: 0, max: 0x1fff }),
        fc.integer({ min: 0, max: 255 }),
        fc.integer({ min: 0, max: 255 }),
        u32,
        u32,
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 0, max: 1400 }),
        offset,
        (dscp, ecn, identification, dontFragment, fragmentOffset, ttl, protocol, src, dst, optWords, payload, o) => {
          const options = optWords ? new Uint8Array(optWords * 4).fill(1) : undefined;
          const h = roundTrip(
            (x, b, off) => emitIpv4(x, b, off, payload),
            (b, off) => parseIpv4(b, off, off + 20 + (options?.length ?? 0) + payload),
            { dscp, ecn, identification, dontFragment, fragmentOffset, ttl, protocol, src, dst, options } as Ipv4Header,
            o,
          );
          expect([h.src, h.dst, h.ttl, h.totalLength]).toEqual([src, dst, ttl, 20 + (options?.length ?? 0) + payload]);
        },
      ),
      { numRuns: 500 },
    );
  });
  it('UDP and TCP (checksums over the pseudo-header), ICMP, VXLAN', () => {
    fc.assert(
      fc.property(
        u16,
        u16,
        u32,
        u32,
        fc.uint8Array({ maxLength: 100 }),
        u32,
        u32,
        fc.integer({ min: 0, max: 0x1ff }),
        u16,
        fc.integer({ min: 0, max: 10 }),
        offset,
        (sp, dp, src, dst, payload, seq, ack, flags, window, optWords, o) => {
          const withPayload =
            <H>(emit: (h: H, b: Uint8Array, off: number, n: number) => number) =>
            (h: H, b: Uint8Array, off: number): number => {
              const n = emit(h, b, off, payload.length); // the header length; the checksum needs the payload in place
              b.set(payload, off + n);
              emit(h, b, off, payload.length);
              return n + payload.length;
            };
          const udp = roundTrip(
            withPayload((h, b, off, n) => emitUdp(h, b, off, n, src, dst)),
            (b, off, end) => parseUdp(b, off, end, src, dst),
            { srcPort: sp, dstPort: dp },
            o,
          );
          expect(udp.length).toBe(8 + payload.length);
          const options = optWords ? new Uint8Array(optWords * 4).fill(1) : undefined;
          const tcp = roundTrip(
            withPayload((h, b, off, n) => emitTcp(h, b, off, n, src, dst)),
            (b, off, end) => parseTcp(b, off, end, src, dst),
            { srcPort: sp, dstPort: dp, seq, ack, flags, window, options } as TcpHeader,
            o,
          );
          expect([tcp.seq, tcp.ack, tcp.flags]).toEqual([seq, ack, flags]);
          roundTrip(
            withPayload(emitIcmp),
            (b, off, end) => parseIcmp(b, off, end),
            { type: 8, code: 0, identifier: sp, sequence: dp },
            o,
          );
          expect(roundTrip(emitVxlan, parseVxlan, { vni: seq & 0xffffff }, o).vni).toBe(seq & 0xffffff);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('the dissector on hostile bytes', () => {
  const a = new Dissection(),
    b = new Dissection();
  const fields = (d: Dissection): unknown[] => [
    d.protocols,
    d.fault,
    d.stopped,
    d.eth,
    d.outerIpv4,
    d.outerL4,
    d.vxlan,
    d.vni,
    d.innerEth,
    d.innerIpv4,
    d.ipv4,
    d.arp,
    d.l4,
    d.l4Kind,
    d.payload,
    d.payloadLength,
    d.icmpQuote,
    d.padding,
    ...d.layers.slice(0, d.count).map((l) => `${l.kind}@${l.offset}+${l.length}`),
  ];

  it('never throws, never reads outside [start, end), and keeps every layer inside the frame', () => {
    fc.assert(
      fc.property(fuzzFrame(VOCAB), offset, fc.boolean(), (frame, o, verify) => {
        const x = new Uint8Array(o + frame.length + 64).fill(0x00),
          y = new Uint8Array(o + frame.length + 64).fill(0xff);
        x.set(frame, o);
        y.set(frame, o);
        dissect(x, o, o + frame.length, a, { verifyChecksums: verify });
        dissect(y, o, o + frame.length, b, { verifyChecksums: verify });
        expect(fields(b)).toEqual(fields(a));
        for (let i = 0; i < a.count; i++) {
          const l = a.layers[i]!;
          expect(l.offset).toBeGreaterThanOrEqual(o);
          expect(l.offset + l.length).toBeLessThanOrEqual(o + frame.length);
        }
        expect(summarize(x, o, o + frame.length)).toBe(summarize(y, o, o + frame.length));
      }),
      { numRuns: 5000, seed: 4242 },
    );
  });

  it('the parse* decoders throw only DecodeError on mutated bytes', () => {
    const parsers: ((b: Uint8Array, o: number, e: number) => unknown)[] = [
      parseEthernet,
      parseArp,
      parseIpv4,
      (b, o, e) => parseIcmp(b, o, e),
      (b, o, e) => parseUdp(b, o, e, 1, 2),
      (b, o, e) => parseTcp(b, o, e, 1, 2),
      parseVxlan,
    ];
    fc.assert(
      fc.property(fuzzFrame(VOCAB), fc.integer({ min: 0, max: 60 }), (frame, at) => {
        for (const p of parsers) {
          try {
            p(frame, Math.min(at, frame.length), frame.length);
          } catch (e) {
            expect(e).toBeInstanceOf(DecodeError);
          }
        }
      }),
      { numRuns: 3000, seed: 99 },
    );
  });
});
