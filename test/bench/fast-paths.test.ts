/**
 * The throughput work of issue 6 replaced general code with faster forms; each must give exactly what the plain
 * form gives. References here are written the obvious way (word at a time, linear scan, uint32 arithmetic) and
 * compared on random inputs, so a fast path that drifts fails.
 */

import { describe, expect, it } from 'vitest';
import { sum16 } from '../../codecs/checksum.js';
import { MemorySink } from '../../codecs/file-sink.js';
import { PcapngWriter } from '../../codecs/pcapng.js';
import { flowHash5, flowHash5Int32, flowSourcePort, vxlanSourcePort } from '../../codecs/vxlan-encap.js';
import { Classifier } from '../../src/ovs/classifier.js';
import { Match } from '../../src/ovs/match.js';
import { N_KEY_WORDS, W_IN_PORT, W_NW_DST, W_NW_SRC, W_TP_DST } from '../../src/ovs/fields.js';
import { Conntrack } from '../../src/netfilter/conntrack.js';
import { CT_EST, CT_RPL, CT_TRK, PacketBuffer } from '../../src/buffer/packet-buffer.js';
import { prng, randBytes, randInt } from '../helpers/prng.js';

/** RFC 1071 the textbook way: 16-bit big-endian words, an odd byte padded with zero. */
function sum16Reference(b: Uint8Array, off: number, len: number, initial = 0): number {
  let s = initial;
  for (let i = 0; i + 1 < len; i += 2) s += (b[off + i]! << 8) | b[off + i + 1]!;
  if (len & 1) s += b[off + len - 1]! << 8;
  return s;
}

describe('sum16 (even/odd byte sums, 16 bytes per round)', () => {
  it('equals the word-at-a-time sum for every length 0..70 at every offset 0..3, and on random buffers', () => {
    const rand = prng(61);
    const b = randBytes(rand, 4096);
    for (let len = 0; len <= 70; len++)
      for (let off = 0; off < 4; off++)
        expect(sum16(b, off, len, 7), `len ${len} off ${off}`).toBe(sum16Reference(b, off, len, 7));
    for (let i = 0; i < 300; i++) {
      const off = randInt(rand, 100),
        len = randInt(rand, 3900);
      expect(sum16(b, off, len)).toBe(sum16Reference(b, off, len));
    }
    // All 0xff: the largest partial sums.
    const ones = new Uint8Array(65535).fill(0xff);
    expect(sum16(ones, 0, 65535)).toBe(sum16Reference(ones, 0, 65535));
  });
});

describe('flow hash forms', () => {
  it('flowHash5Int32 has flowHash5 bits, and flowSourcePort = vxlanSourcePort(flowHash5(...))', () => {
    const rand = prng(62);
    for (let i = 0; i < 3000; i++) {
      const a = randInt(rand, 2 ** 32),
        b = randInt(rand, 2 ** 32),
        p = randInt(rand, 256),
        sp = randInt(rand, 65536),
        dp = randInt(rand, 65536),
        seed = randInt(rand, 2 ** 32);
      const h = flowHash5(a, b, p, sp, dp, seed);
      expect(flowHash5Int32(a, b, p, sp, dp, seed)).toBe(h | 0);
      // Addresses given as int32 hash the same (the canonical order is the unsigned one).
      expect(flowHash5(a | 0, b | 0, p, sp, dp, seed)).toBe(h);
      expect(flowSourcePort(a, b, p, sp, dp, seed)).toBe(vxlanSourcePort(h));
      expect(flowSourcePort(a, b, p, sp, dp, seed, 32768, 60999)).toBe(vxlanSourcePort(h, 32768, 60999));
    }
  });
});

describe('classifier lookup cache', () => {
  interface R {
    match: Match;
    priority: number;
    seq: number;
    id: number;
  }
  let seq = 0;
  function rule(priority: number, fields: [number, number, number][]): R {
    const m = new Match();
    for (const [w, v, mask] of fields) {
      m.values[w] = v & mask;
      m.masks[w] = mask;
    }
    return { match: m, priority, seq: seq++, id: seq };
  }
  /** The answer by definition: best priority, then oldest, over every rule. */
  function linear(rules: R[], key: Int32Array): R | undefined {
    let best: R | undefined;
    for (const r of rules) {
      let ok = true;
      for (let w = 0; w < r.match.masks.length && ok; w++)
        if ((key[w]! & r.match.masks[w]!) !== r.match.values[w]) ok = false;
      if (ok && (!best || r.priority > best.priority || (r.priority === best.priority && r.seq < best.seq))) best = r;
    }
    return best;
  }

  it('agrees with a linear scan while rules are added and removed between lookups (cache invalidation)', () => {
    const rand = prng(63);
    const c = new Classifier<R>();
    const live: R[] = [];
    const keys: Int32Array[] = [];
    for (let k = 0; k < 40; k++) {
      const key = new Int32Array(N_KEY_WORDS);
      key[W_IN_PORT] = 1 + randInt(rand, 4);
      key[W_NW_SRC] = (0x0a000000 + randInt(rand, 8)) | 0;
      key[W_NW_DST] = (0xc0a80000 + randInt(rand, 8)) | 0; // above 2^31 as uint32
      key[W_TP_DST] = randInt(rand, 3);
      keys.push(key);
    }
    for (let step = 0; step < 400; step++) {
      if (live.length > 0 && rand() < 0.35) {
        const r = live.splice(randInt(rand, live.length), 1)[0]!;
        expect(c.remove(r)).toBe(true);
      } else {
        const fields: [number, number, number][] = [];
        if (rand() < 0.6) fields.push([W_IN_PORT, 1 + randInt(rand, 4), 0xffff]);
        if (rand() < 0.5)
          fields.push([W_NW_SRC, (0x0a000000 + randInt(rand, 8)) | 0, rand() < 0.5 ? -1 : 0xfffffffc | 0]);
        if (rand() < 0.5) fields.push([W_NW_DST, (0xc0a80000 + randInt(rand, 8)) | 0, -1]);
        if (rand() < 0.3) fields.push([W_TP_DST, randInt(rand, 3), 0xffff]);
        const r = rule(randInt(rand, 5) * 10, fields);
        c.insert(r);
        live.push(r);
      }
      // Look every key up twice: the second answer comes from the cache.
      for (const key of keys) {
        const want = linear(live, key);
        expect(c.lookup(key)?.id).toBe(want?.id);
        expect(c.lookup(key)?.id).toBe(want?.id);
      }
    }
  });
});

describe('Conntrack.insert (conntrack -I) and trackNow', () => {
  it('creates an established entry that a reply packet finds at the clock time', () => {
    const ct = new Conntrack();
    const clock = { now: 5_000_000_000 }; // past 2^31 ns
    ct.clock = clock;
    const src = 0xac100001,
      dst = 0xc0a80005;
    const e = ct.insert(6, src, dst, 40000, 443, clock.now);
    expect(ct.count).toBe(1);
    expect(() => ct.insert(6, dst, src, 443, 40000, clock.now)).toThrow(/exists/);
    expect(ct.lookup(6, src, dst, 40000, 443)).toBe(e);
    // A reply ACK from dst:443 to src:40000.
    const pkt = new PacketBuffer();
    const d = pkt.data,
      l3 = pkt.setFrame(40);
    d.set([0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0], l3);
    d.writeUInt32BE(dst, l3 + 12);
    d.writeUInt32BE(src, l3 + 16);
    d.writeUInt16BE(443, l3 + 20);
    d.writeUInt16BE(40000, l3 + 22);
    d[l3 + 32] = 0x50;
    d[l3 + 33] = 0x10; // ACK
    clock.now += 1_000_000_000;
    ct.trackNow(pkt, l3, 0, false);
    expect(pkt.ctEntry).toBe(e);
    expect(pkt.ctState).toBe(CT_TRK | CT_EST | CT_RPL);
    // Established timeout (5 days) counted from the packet's time.
    expect(ct.secondsLeft(e, clock.now)).toBe(432000 - 1);
  });
});

describe('PcapngWriter.writePacketNow and the comment cache', () => {
  it('writes the same bytes as writePacket, with comments, for short and long frames', () => {
    const rand = prng(64);
    const a = new MemorySink(),
      b = new MemorySink();
    const wa = new PcapngWriter(a),
      wb = new PcapngWriter(b);
    const ia = wa.addInterface({ name: 'x' }),
      ib = wb.addInterface({ name: 'x' });
    const clock = { now: 0 };
    for (let i = 0; i < 50; i++) {
      const frame = Buffer.from(randBytes(rand, 1 + randInt(rand, 1500)));
      const comment = i % 3 === 0 ? undefined : `hop ${i % 4} ünïcode`;
      const direction = i % 2 ? ('inbound' as const) : ('outbound' as const);
      clock.now = 123_456_789 + i * 1_000 + i * 2 ** 33;
      wa.writePacket(ia, clock.now, frame, 0, frame.length, { comment, direction });
      wb.writePacketNow(ib, clock, frame, 0, frame.length, { comment, direction });
    }
    expect(Buffer.compare(a.bytes(), b.bytes())).toBe(0);
  });
});
