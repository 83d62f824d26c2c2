import { readFileSync } from 'node:fs';
import { parseAllDocuments, Parser, Composer, LineCounter } from 'yaml';
const text = readFileSync(process.argv[2]!, 'utf8');
for (let r = 0; r < 2; r++) {
let t = performance.now();
const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
const js = (docs as any[]).map((d) => d.toJS());
console.log('parseAllDocuments+toJS', ((performance.now() - t) / 1000).toFixed(2), js.length);
t = performance.now();
let n = 0;
for (const tok of new Parser().parse(text)) n++;
console.log('parser only', ((performance.now() - t) / 1000).toFixed(2), n);
t = performance.now();
n = 0;
const composer = new Composer({ uniqueKeys: true });
for (const doc of composer.compose(new Parser().parse(text))) { doc.toJS(); n++; }
console.log('streamed compose+toJS', ((performance.now() - t) / 1000).toFixed(2), n);
}
