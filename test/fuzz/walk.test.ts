/**
 * Property: random and mutated frames injected anywhere a frame can enter the built-in cluster (pods' eth0, node
 * NICs both ways, the gateway, the external host) never throw, never leak or double-release a buffer, always end
 * (delivered, dropped with a reason, or consumed), and every buffer handed out comes back through one of those.
 * A bounded run for CI; `npm run fuzz -- --frames 1000000` runs a million (fuzz/main.ts).
 */

import fc from 'fast-check';
import { expect, it } from 'vitest';
import { fuzzFrame } from '../../fuzz/frames.js';
import { WalkFuzzer } from '../../fuzz/walk-harness.js';

it('fuzzed frames at every injection point: no exception, no leak, every frame accounted for', () => {
  const w = new WalkFuzzer(7);
  expect(w.points.length).toBeGreaterThan(10);
  fc.assert(
    fc.property(fuzzFrame(w.vocabulary), fc.nat(), fc.boolean(), (frame, at, traced) => {
      const r = w.inject(frame, at, traced);
      expect(r.problems).toEqual([]);
    }),
    { numRuns: 3000, seed: 20261204 },
  );
}, 120_000);

it('a link-layer broadcast carrying a unicast datagram is not routed on (it once looped until its TTL ran out)', () => {
  const w = new WalkFuzzer(1);
  const ext = w.points.findIndex((p) => p.name === 'external/eth0');
  // Ethernet broadcast from the external host, IPv4 GRE 203.0.113.1 -> 192.168.0.6, TTL 108.
  const frame = Buffer.from('ffffffffffff0a5a4683000b080045000015059940006c2f0c71cb007101c0a80006e7', 'hex');
  const r = w.inject(frame, ext, true);
  expect(r.problems).toEqual([]);
  expect(r.fate).toBe('dropped');
  expect(r.reason).toMatch(/not addressed to eth1's MAC: not forwarded/);
  expect(r.made).toBe(0);
});
