/**
 * The fast path is an observer the data path does not know: no data-path folder imports src/fastpath (type
 * imports included), and the observer interfaces they report to (src/path-observer) sit below them, importing
 * only the packet buffer and codecs. Checked on the import statements of the source files.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const DATA_PATH = [
  'codecs',
  'src/buffer',
  'src/ports',
  'src/node',
  'src/ovs',
  'src/netfilter',
  'src/capture',
  'src/trace',
  'src/cluster',
  'src/path-observer',
];

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** The folders (relative to the root) a file imports from. */
function importedPaths(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)) {
    if (m[1]!.startsWith('.')) out.push(relative(ROOT, resolve(join(ROOT, file, '..'), m[1]!)));
  }
  return out;
}

it('no data-path file imports src/fastpath', () => {
  const offenders: string[] = [];
  for (const dir of DATA_PATH) {
    for (const f of sources(dir))
      for (const p of importedPaths(f)) if (p.startsWith('src/fastpath/')) offenders.push(`${f} imports ${p}`);
  }
  expect(offenders).toEqual([]);
});

it('src/path-observer imports only the packet buffer, codecs and itself', () => {
  const offenders: string[] = [];
  for (const f of sources('src/path-observer')) {
    for (const p of importedPaths(f))
      if (!/^(src\/buffer|src\/path-observer|codecs)\//.test(p)) offenders.push(`${f} imports ${p}`);
  }
  expect(offenders).toEqual([]);
});
