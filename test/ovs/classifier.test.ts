import { describe, expect, it } from 'vitest';
import { ipv4ToString } from '../../codecs/bytes.js';
import { Classifier } from '../../src/ovs/classifier.js';
import {
  newFlowKey,
  W_CT_STATE,
  W_DL_TYPE,
  W_IN_PORT,
  W_NW_DST,
  W_NW_PROTO,
  W_NW_SRC,
  W_REG0,
  W_TP_DST,
} from '../../src/ovs/fields.js';
import { parseFlow } from '../../src/ovs/flow-text.js';
import type { Match } from '../../src/ovs/match.js';
import { Bridge } from '../../src/ovs/bridge.js';
import { ipFrame, packet } from './packets.js';
import { prng } from '../helpers/prng.js';

/** Deterministic PRNG so failures reproduce. */
const rng = prng;

interface R {
  match: Match;
  priority: number;
  seq: number;
  /** Words the rule constrains, for the brute-force reference. */
  words: number[];
}

/** Flows shaped like OpenShift's: per pod, per subnet, per VNID, per port, plus catch-alls. */
function randomFlows(n: number, rand: () => number): R[] {
  const ip = (): string => `10.${128 + Math.floor(rand() * 4)}.${Math.floor(rand() * 4)}.${Math.floor(rand() * 8)}`;
  const out: R[] = [];
  for (let i = 0; i < n; i++) {
    const x = rand();
    // Catch-alls (kinds 4, 5) are few, as in a real flow set: identical matches would pile into one bucket.
    const kind = x < 0.01 ? 4 : x < 0.02 ? 5 : Math.floor(rand() * 4);
    const prio = [0, 50, 100, 100, 150, 200, 300][Math.floor(rand() * 7)]!;
    const text =
      kind === 0
        ? `priority=${prio},in_port=${Math.floor(rand() * 6)},ip,nw_src=${ip()}`
        : kind === 1
          ? `priority=${prio},ip,nw_dst=${ip()}/${[23, 24, 30, 32][Math.floor(rand() * 4)]}`
          : kind === 2
            ? `priority=${prio},reg0=${Math.floor(rand() * 4)},reg1=${Math.floor(rand() * 4)}`
            : kind === 3
              ? `priority=${prio},tcp,nw_dst=${ip()},tp_dst=${[80, 443, 8080][Math.floor(rand() * 3)]}`
              : kind === 4
                ? `priority=${prio},ip,ct_state=${rand() < 0.5 ? '+rpl' : '-rpl+trk'}`
                : `priority=${prio}${rand() < 0.5 ? ',ip' : ''}`;
    const match = parseFlow(`${text} actions=drop`).match;
    out.push({ match, priority: prio, seq: i, words: [...match.masks.keys()].filter((w) => match.masks[w] !== 0) });
  }
  return out;
}

function randomKey(rand: () => number, key: Int32Array): Int32Array {
  key.fill(0);
  key[W_IN_PORT] = Math.floor(rand() * 6);
  key[W_DL_TYPE] = rand() < 0.9 ? 0x0800 : 0x0806;
  key[W_NW_SRC] =
    ((10 << 24) | ((128 + Math.floor(rand() * 4)) << 16) | (Math.floor(rand() * 4) << 8) | Math.floor(rand() * 8)) >>>
    0;
  key[W_NW_DST] =
    ((10 << 24) | ((128 + Math.floor(rand() * 4)) << 16) | (Math.floor(rand() * 4) << 8) | Math.floor(rand() * 8)) >>>
    0;
  key[W_NW_PROTO] = rand() < 0.5 ? 6 : 17;
  key[W_TP_DST] = [80, 443, 8080, 53][Math.floor(rand() * 4)]!;
  key[W_REG0] = Math.floor(rand() * 4);
  key[W_REG0 + 1] = Math.floor(rand() * 4);
  key[W_CT_STATE] = [0, 0x20, 0x21, 0x22, 0x2a][Math.floor(rand() * 5)]!;
  return key;
}

/** Match by brute force over the words the rule constrains (independent of the classifier's hashing). */
function matchesLinear(r: R, key: Int32Array): boolean {
  const ws = r.words,
    m = r.match.masks,
    v = r.match.values;
  for (let i = 0; i < ws.length; i++) {
    const w = ws[i]!;
    if ((key[w]! & m[w]!) !== v[w]) return false;
  }
  return true;
}

/** The reference: scan every rule; highest priority, then first added. */
function linear(rules: R[], key: Int32Array): R | undefined {
  let best: R | undefined;
  for (const r of rules) {
    if (!matchesLinear(r, key)) continue;
    if (!best || r.priority > best.priority || (r.priority === best.priority && r.seq < best.seq)) best = r;
  }
  return best;
}

describe('classifier (tuple-space search)', () => {
  for (const n of [100, 100_000]) {
    it(`agrees with a linear scan on random packets with ${n} flows`, () => {
      const rand = rng(n);
      const rules = randomFlows(n, rand);
      const c = new Classifier<R>();
      for (const r of rules) c.insert(r);
      expect(c.size).toBe(n);
      const key = newFlowKey();
      const probes = n === 100 ? 5000 : 200;
      let hits = 0;
      for (let i = 0; i < probes; i++) {
        randomKey(rand, key);
        const want = linear(rules, key);
        expect(c.lookup(key)).toBe(want);
        if (want && want.priority > 0) hits++;
      }
      expect(hits).toBeGreaterThan(probes / 4); // the generator really exercises matches
      // Removing half the rules keeps it consistent.
      const kept = rules.filter((r) => r.seq % 2 === 0);
      for (const r of rules) if (r.seq % 2 === 1) expect(c.remove(r)).toBe(true);
      for (let i = 0; i < (n === 100 ? 500 : 100); i++) {
        randomKey(rand, key);
        expect(c.lookup(key)).toBe(linear(kept, key));
      }
    }, 60_000);
  }

  it('lookup cost stays flat from 100 to 100k flows (one probe per mask shape)', () => {
    const time = (n: number): { perLookup: number; shapes: number } => {
      const rand = rng(7);
      const c = new Classifier<R>();
      for (const r of randomFlows(n, rand)) c.insert(r);
      const keys = Array.from({ length: 256 }, () => randomKey(rand, newFlowKey()));
      let sink = 0;
      for (let i = 0; i < 20_000; i++) sink += c.lookup(keys[i & 255]!)?.priority ?? 0;
      const t0 = performance.now();
      for (let i = 0; i < 200_000; i++) sink += c.lookup(keys[i & 255]!)?.priority ?? 0;
      expect(sink).toBeGreaterThan(0);
      return { perLookup: (performance.now() - t0) / 200_000, shapes: c.shapeCount };
    };
    const small = time(100);
    const large = time(100_000);
    expect(large.shapes).toBeLessThanOrEqual(small.shapes + 8);
    // Generous bound for noisy CI machines; a linear scan would be ~1000x slower.
    expect(large.perLookup).toBeLessThan(small.perLookup * 6 + 0.0005);
  }, 60_000);

  it('add-flow and del-flows change decisions immediately (nothing stale is cached)', () => {
    const outs: number[] = [];
    const b = new Bridge('br0', { output: (p) => outs.push(p), conntrack() {}, portName: String });
    b.addFlow('table=0,priority=10,ip actions=output:1');
    const send = () => b.process(packet(ipFrame({ src: '10.128.0.2', dst: '10.128.0.3' }), 9));
    send();
    b.addFlow('table=0,priority=20,ip,nw_dst=10.128.0.3 actions=output:2');
    send();
    b.delFlows('table=0,ip,nw_dst=10.128.0.3');
    send();
    b.delFlows();
    send();
    expect(outs).toEqual([1, 2, 1]);
    expect(b.drops.get('no flow matched in table 0')).toBe(1);
    expect(ipv4ToString(0x0a800003)).toBe('10.128.0.3');
  });
});
