/**
 * Broken captures by the thousand: fast-check cuts, overwrites and splices the fixture files other tools wrote.
 * The reader must return records inside the file or throw a DecodeError whose offset is inside the file, and a
 * replay of any such file must account for every record it read and never fail with anything but that error.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CaptureReader, MAX_RECORD_BYTES, memorySource } from '../../codecs/capture-reader.js';
import { DecodeError } from '../../codecs/errors.js';
import { builtinClusterDocuments } from '../../src/cluster/builtin.js';
import { runReplay } from '../../src/replay/replay.js';
import { unaccounted } from '../../src/replay/summary.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'captures');
const FILES = [
  'pod-syn-to-service.pcap',
  'pod-syn-to-service-be-ns.pcap',
  'pod-syn-to-service.pcapng',
  'pod-syn-to-service-be.pcapng',
  'two-sections.pcapng',
  'pod-syn-to-service-cooked-v2.pcap',
  'mixed-linktypes.pcapng',
  'node-vxlan.pcapng',
];
const bytesOf = FILES.map((f) => readFileSync(join(DIR, f)));

/** A fixture with some bytes overwritten (lengths, magics, timestamps, payload alike) and maybe cut short. */
const mangled = fc
  .record({
    file: fc.nat(FILES.length - 1),
    writes: fc.array(
      fc.record({
        at: fc.nat(),
        value: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 0xff, 0x7f, 0x80)),
      }),
      { maxLength: 6 },
    ),
    words: fc.array(
      fc.record({
        at: fc.nat(),
        value: fc.oneof(
          fc.constantFrom(0, 12, 0xfffffffc, 0xffffffff, MAX_RECORD_BYTES, MAX_RECORD_BYTES + 1),
          fc.nat(),
        ),
      }),
      { maxLength: 2 },
    ),
    cut: fc.option(fc.nat(), { nil: undefined }),
  })
  .map(({ file, writes, words, cut }) => {
    const b = Buffer.from(bytesOf[file]!);
    for (const w of writes) b[w.at % b.length] = w.value;
    for (const w of words) {
      const at = (w.at % Math.max(1, b.length - 4)) & ~3;
      if (at + 4 <= b.length) b.writeUInt32LE(w.value >>> 0, at);
    }
    return cut === undefined ? b : b.subarray(0, cut % (b.length + 1));
  });

describe('fuzzed captures', { timeout: 300_000 }, () => {
  it('the reader returns records inside the file or a DecodeError inside the file', () => {
    fc.assert(
      fc.property(mangled, (b) => {
        try {
          const r = new CaptureReader(memorySource(b));
          for (let rec = r.next(); rec; rec = r.next()) {
            expect(rec.offset).toBeLessThan(b.length);
            expect(rec.data.length).toBeLessThanOrEqual(MAX_RECORD_BYTES);
            expect(rec.offset + rec.data.length).toBeLessThanOrEqual(b.length);
          }
        } catch (e) {
          if (!(e instanceof DecodeError)) throw e;
          expect(e.fault.offset).toBeGreaterThanOrEqual(0);
          expect(e.fault.offset).toBeLessThanOrEqual(b.length);
        }
      }),
      { numRuns: 3000, seed: 20261204 },
    );
  });

  it("a replay of any of them accounts for every record and fails only with the file's fault", () => {
    const docs = builtinClusterDocuments();
    fc.assert(
      fc.property(mangled, (b) => {
        const r = runReplay({
          file: 'fuzz.pcap',
          source: memorySource(b),
          at: 'project1/sqlapi-1-8jgx8',
          baseDocuments: docs,
          clusterFile: '<builtin>',
        });
        expect(unaccounted(r.summary)).toBe(0);
        if (r.error) expect(r.error.message).toMatch(/^fuzz\.pcap: byte \d+: /);
      }),
      { numRuns: 150, seed: 20261204 },
    );
  });
});
