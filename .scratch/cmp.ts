import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { FALLBACK, parseBlockDocument, splitDocuments } from '../src/cluster/yaml-block.ts';
for (const f of process.argv.slice(2)) {
  const text = readFileSync(f, 'utf8');
  let t = performance.now();
  const docs = splitDocuments(text);
  let fb = 0;
  const fast = docs?.map((d) => { const v = parseBlockDocument(d.text); if (v === FALLBACK) { fb++; return parseAllDocuments(d.text)[0]?.toJS() ?? null; } return v; });
  const tf = performance.now() - t; t = performance.now();
  const ref = (parseAllDocuments(text, { uniqueKeys: true }) as any[]).map((d) => d.toJS());
  const tr = performance.now() - t;
  console.log(f, docs ? docs.length : 'unsplit', ref.length, 'fallbacks', fb, 'equal', isDeepStrictEqual(fast, ref), `fast ${tf.toFixed(0)} ms yaml ${tr.toFixed(0)} ms`);
}
