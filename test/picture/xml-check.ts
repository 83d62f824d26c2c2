/**
 * A strict, tiny XML well-formedness checker for the pictures (no dependency): one root element, balanced and
 * properly nested tags, quoted attributes without duplicates, no raw `<` in text or values, and `&` only as a
 * predefined or numeric entity. Returns the problems found (empty when well-formed).
 */

const NAME = /^[A-Za-z_:][A-Za-z0-9._:-]*/;
const ENTITY = /^&(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);/;

function checkText(s: string, at: number, problems: string[]): void {
  for (let i = s.indexOf('&'); i >= 0; i = s.indexOf('&', i + 1)) {
    if (!ENTITY.test(s.slice(i))) problems.push(`bare '&' at ${at + i}`);
  }
  if (s.includes('<')) problems.push(`raw '<' at ${at + s.indexOf('<')}`);
}

export function xmlProblems(doc: string): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  let roots = 0;
  let i = 0;
  if (doc.startsWith('<?xml')) {
    const end = doc.indexOf('?>');
    if (end < 0) return ['unterminated XML declaration'];
    i = end + 2;
  }
  while (i < doc.length && problems.length < 20) {
    const lt = doc.indexOf('<', i);
    const textEnd = lt < 0 ? doc.length : lt;
    const txt = doc.slice(i, textEnd);
    if (stack.length === 0 && txt.trim() !== '') problems.push(`text outside the root at ${i}`);
    checkText(txt, i, problems);
    if (lt < 0) break;
    if (doc.startsWith('<!--', lt)) {
      const end = doc.indexOf('-->', lt + 4);
      if (end < 0) return [...problems, `unterminated comment at ${lt}`];
      i = end + 3;
      continue;
    }
    if (doc.startsWith('</', lt)) {
      const m = NAME.exec(doc.slice(lt + 2));
      const close = doc.indexOf('>', lt);
      if (!m || close < 0 || doc.slice(lt + 2 + m[0].length, close).trim() !== '')
        return [...problems, `bad end tag at ${lt}`];
      const open = stack.pop();
      if (open !== m[0]) problems.push(`</${m[0]}> at ${lt} closes <${open ?? 'nothing'}>`);
      i = close + 1;
      continue;
    }
    const m = NAME.exec(doc.slice(lt + 1));
    if (!m) return [...problems, `bad tag at ${lt}`];
    let j = lt + 1 + m[0].length;
    const seen = new Set<string>();
    for (;;) {
      const ws = /^\s*/.exec(doc.slice(j))![0];
      j += ws.length;
      if (doc.startsWith('/>', j) || doc[j] === '>') break;
      if (!ws) return [...problems, `missing space before attribute at ${j}`];
      const a = /^([A-Za-z_:][A-Za-z0-9._:-]*)\s*=\s*("([^"]*)"|'([^']*)')/.exec(doc.slice(j));
      if (!a) return [...problems, `bad attribute at ${j} in <${m[0]}>`];
      if (seen.has(a[1]!)) problems.push(`duplicate attribute ${a[1]} at ${j}`);
      seen.add(a[1]!);
      checkText(a[3] ?? a[4] ?? '', j, problems);
      j += a[0].length;
    }
    if (stack.length === 0) roots++;
    if (doc.startsWith('/>', j)) i = j + 2;
    else {
      stack.push(m[0]);
      i = j + 1;
    }
  }
  if (stack.length) problems.push(`unclosed <${stack.join('>, <')}>`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
}
