import { readFileSync } from 'node:fs';
import { Parser, Lexer } from 'yaml';
const text = readFileSync(process.argv[2], 'utf8');
for (let r = 0; r < 3; r++) {
let t = performance.now(); let n = 0;
for (const tok of new Lexer().lex(text)) n++;
console.log('lexer only', ((performance.now() - t) / 1000).toFixed(2), n);
t = performance.now(); n = 0;
for (const tok of new Parser().parse(text)) n++;
console.log('parser only', ((performance.now() - t) / 1000).toFixed(2), n);
}
