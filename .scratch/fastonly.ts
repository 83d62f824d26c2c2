import { readFileSync } from 'node:fs';
import { FALLBACK, parseBlockDocument, splitDocuments } from '../src/cluster/yaml-block.ts';
const text = readFileSync(process.argv[2]!, 'utf8');
for (let r = 0; r < 2; r++) {
let t = performance.now();
const docs = splitDocuments(text)!;
const t1 = performance.now() - t;
let fb = 0;
const vals = docs.map((d) => { const v = parseBlockDocument(d.text); if (v === FALLBACK) fb++; return v; });
console.log(`split ${t1.toFixed(0)} ms, parse ${(performance.now() - t - t1).toFixed(0)} ms, ${docs.length} docs, ${fb} fallbacks, rss ${(process.memoryUsage().rss/1e6).toFixed(0)} MB`);
}
