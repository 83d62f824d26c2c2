/**
 * Scenario goldens: each scenario runs with a fixed seed and its captures and trace are compared byte for byte
 * with pcaps/<scenario>/. `UPDATE_GOLDEN=1 npm test` rewrites them. On a mismatch the first differing frame is
 * printed as a hexdump with its summary line.
 */

import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hexdump } from '../../codecs/bytes.js';
import { readPcapng } from '../../codecs/pcapng.js';
import { summarize } from '../../codecs/summary.js';
import { SCENARIOS } from '../../src/scenarios/catalog.js';
import { listFiles, read, runToTemp } from './run-helpers.js';

const GOLDEN_ROOT = join(import.meta.dirname, '..', '..', 'pcaps');
const update = process.env.UPDATE_GOLDEN === '1';

/** Files pinned as goldens: the captures and the text trace (trace.json carries the same facts). */
function pinned(files: string[]): string[] {
  return files.filter((f) => f.endsWith('.pcap') || f.endsWith('.pcapng') || f === 'trace.txt');
}

function firstDifference(actual: Buffer, expected: Buffer): string {
  try {
    const a = readPcapng(actual).packets,
      e = readPcapng(expected).packets;
    for (let i = 0; i < Math.max(a.length, e.length); i++) {
      const x = a[i],
        y = e[i];
      if (
        !x ||
        !y ||
        Buffer.compare(Buffer.from(x.data), Buffer.from(y.data)) !== 0 ||
        x.tsNs !== y.tsNs ||
        x.comment !== y.comment
      ) {
        return [
          `first differing frame: ${i + 1}`,
          `expected: ${y ? summarize(y.data) : '(none)'} [${y?.comment ?? ''}]`,
          y ? hexdump(y.data) : '',
          `actual:   ${x ? summarize(x.data) : '(none)'} [${x?.comment ?? ''}]`,
          x ? hexdump(x.data) : '',
        ].join('\n');
      }
    }
  } catch {
    // not a pcapng: fall through to a byte offset
  }
  let o = 0;
  while (o < actual.length && o < expected.length && actual[o] === expected[o]) o++;
  return `first differing byte at offset ${o} (actual ${actual.length} bytes, expected ${expected.length})`;
}

describe.each(SCENARIOS.map((s) => s.name))('scenario %s', (name) => {
  const r = runToTemp(name);
  const goldenDir = join(GOLDEN_ROOT, name);

  it('ends as the scenario expects', () => {
    expect(r.passed, r.flows.map((f) => f.detail).join('; ')).toBe(true);
  });

  it('writes byte-identical files to the goldens in pcaps/', () => {
    const files = pinned(listFiles(r.dir));
    if (update || !existsSync(goldenDir)) {
      if (!update) throw new Error(`no golden for ${name}: run UPDATE_GOLDEN=1 npm test and review pcaps/${name}/`);
      rmSync(goldenDir, { recursive: true, force: true });
      mkdirSync(goldenDir, { recursive: true });
      for (const f of files) copyFileSync(join(r.dir, f), join(goldenDir, f));
      return;
    }
    expect(files).toEqual(pinned(readdirSync(goldenDir).sort()));
    for (const f of files) {
      const actual = read(r.dir, f),
        expected = read(goldenDir, f);
      if (Buffer.compare(actual, expected) !== 0) {
        if (f === 'trace.txt') expect(actual.toString()).toBe(expected.toString());
        throw new Error(`${name}/${f} differs from the golden\n${firstDifference(actual, expected)}`);
      }
    }
  });

  it('writes the same bytes again with the same seed, and different ones with another seed', () => {
    const again = runToTemp(name);
    for (const f of pinned(listFiles(r.dir))) expect(Buffer.compare(read(again.dir, f), read(r.dir, f)), f).toBe(0);
    const other = runToTemp(name, 2);
    expect(Buffer.compare(read(other.dir, 'walk.pcapng'), read(r.dir, 'walk.pcapng'))).not.toBe(0);
  });
});
