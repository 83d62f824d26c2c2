/**
 * Module-level state, read from the text of the files: what lives once per process (per worker thread) and
 * changes after the module is loaded. Two shapes are found:
 *   - a module-level `let` or `var`: a binding that is reassigned;
 *   - a module-level `const` holding an object, array, Map/Set or typed array (`{`, `[`, `new ...`) that some
 *     code mutates: assigns a property or element (`X.value++`, `X[i] = v`) or calls a mutating method
 *     (`X.set(...)`, `X.push(...)`), in its own file or, under its local name, in a file that imports it.
 * A `const` holding a container nobody mutates is a constant table, not state.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { blankNonCode, type FileEdge } from './import-graph.js';

/** One piece of module-level state: `file NAME`, the line of its declaration, and how it changes. */
export interface ModuleState {
  file: string;
  name: string;
  line: number;
  /** `let`, or the first mutation found (`file:line: text`). */
  how: string;
}

interface Declaration {
  name: string;
  line: number;
  kind: 'let' | 'container';
}

const DECLARATION = /^(?:export\s+)?(let|var|const)\s+([A-Za-z_$][\w$]*)\s*(?::[^=\n]+)?=\s*(\S)?/gm;

/** Module-level (brace depth 0) declarations of one file: every let/var, and consts holding a container. */
export function moduleDeclarations(src: string): Declaration[] {
  const code = blankNonCode(src, true);
  const depthAt = braceDepths(code);
  const out: Declaration[] = [];
  DECLARATION.lastIndex = 0;
  for (let m = DECLARATION.exec(code); m !== null; m = DECLARATION.exec(code)) {
    if (depthAt[m.index] !== 0) continue;
    const line = code.slice(0, m.index).split('\n').length;
    if (m[1] !== 'const') out.push({ name: m[2]!, line, kind: 'let' });
    else if (m[3] === '{' || m[3] === '[' || /^new\b/.test(code.slice(m.index + m[0].length - 1)))
      out.push({ name: m[2]!, line, kind: 'container' });
  }
  return out;
}

/** Brace depth before each offset of blanked code. */
function braceDepths(code: string): Int32Array {
  const depth = new Int32Array(code.length + 1);
  let d = 0;
  for (let i = 0; i < code.length; i++) {
    depth[i] = d;
    if (code[i] === '{') d++;
    else if (code[i] === '}') d--;
  }
  depth[code.length] = d;
  return depth;
}

const MUTATING_METHODS = 'set|add|delete|clear|push|pop|shift|unshift|splice|sort|reverse|fill|copyWithin';

/** The first line of `src` that mutates the container bound to `name`, or undefined. */
export function firstMutation(src: string, name: string): { line: number; text: string } | undefined {
  const code = blankNonCode(src, true);
  const id = name.replace(/\$/g, '\\$');
  const access = String.raw`(?:\s*(?:\??\.\s*[\w$]+|!?\[[^\]\n]*\]!?))`;
  const patterns = [
    // X.a = v, X[i] += v, X.a.b ??= v (not ==, ===, =>)
    new RegExp(String.raw`(?<![\w$.])${id}${access}+\s*(?:[-+*/%&|^]|\*\*|<<|>>>?|\?\?|&&|\|\|)?=(?![=>])`, 'g'),
    // X.a++, --X[i]
    new RegExp(String.raw`(?<![\w$.])${id}${access}+\s*(?:\+\+|--)|(?:\+\+|--)\s*${id}${access}`, 'g'),
    // X.set(...), X.push(...)
    new RegExp(String.raw`(?<![\w$.])${id}\s*\.\s*(?:${MUTATING_METHODS})\s*\(`, 'g'),
  ];
  let first: number | undefined;
  for (const re of patterns) {
    const m = re.exec(code);
    if (m && (first === undefined || m.index < first)) first = m.index;
  }
  if (first === undefined) return undefined;
  const line = code.slice(0, first).split('\n').length;
  return { line, text: src.split('\n')[line - 1]!.trim() };
}

/** Every piece of module-level state in the files (paths relative to root), given the import edges among them. */
export function findModuleState(root: string, files: readonly string[], edges: readonly FileEdge[]): ModuleState[] {
  const source = new Map(files.map((f) => [f, readFileSync(join(root, f), 'utf8')]));
  const found: ModuleState[] = [];
  for (const file of files) {
    for (const d of moduleDeclarations(source.get(file)!)) {
      if (d.kind === 'let') {
        found.push({ file, name: d.name, line: d.line, how: 'module-level let' });
        continue;
      }
      // Its own file first, then each importer under the name it imported it as.
      const places: { file: string; local: string }[] = [{ file, local: d.name }];
      for (const e of edges)
        if (e.to === file && e.names.has(d.name)) places.push({ file: e.from, local: e.names.get(d.name)! });
      for (const p of places) {
        const m = firstMutation(source.get(p.file) ?? '', p.local);
        if (m) {
          found.push({ file, name: d.name, line: d.line, how: `mutated at ${p.file}:${m.line}: ${m.text}` });
          break;
        }
      }
    }
  }
  return found;
}
