/**
 * The import graph of the sources, read from the text of the files (the compiler has no JS API to ask): every
 * `import ... from`, `export ... from`, `import type`, side-effect `import '...'` and dynamic `import('...')`,
 * type-only ones included — a type import is still a dependency. Comments, string contents and template literals
 * are blanked first, so generated code inside a template (the shard worker's bootstrap) is not mistaken for an
 * import.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** One import statement: the specifier as written, the 1-based line it starts on, and the names it binds. */
export interface ImportSite {
  specifier: string;
  line: number;
  /** `{ a, b as c }` of the statement: imported name -> local name (empty for dynamic and side-effect imports). */
  names: Map<string, string>;
}

/** One resolved file-to-file import, paths relative to the repository root with '/' separators. */
export interface FileEdge {
  from: string;
  to: string;
  line: number;
  /** Imported name -> local name, as in ImportSite. */
  names: Map<string, string>;
}

/**
 * Replace comments, regular expression literals and the text of template literals by spaces (newlines kept, so
 * offsets and line numbers still match). Quoted strings stay (an import's specifier is one) unless `blankStrings`:
 * then only their quotes stay.
 */
export function blankNonCode(src: string, blankStrings = false): string {
  const out = src.split('');
  const blank = (from: number, to: number): void => {
    for (let k = from; k < to; k++) if (out[k] !== '\n') out[k] = ' ';
  };
  // Brace depth of each open `${` inside a template literal; a `}` at that depth resumes the template.
  const templateExprDepth: number[] = [];
  let depth = 0;
  let lastSignificant = '';
  let i = 0;
  const n = src.length;
  // A template literal's text from i (just after a backtick or a closing `}`) up to its end or its next `${`.
  const scanTemplateText = (): void => {
    const start = i;
    while (i < n) {
      const c = src[i];
      if (c === '\\') i += 2;
      else if (c === '`') {
        blank(start, i);
        i++;
        lastSignificant = '`';
        return;
      } else if (c === '$' && src[i + 1] === '{') {
        blank(start, i);
        templateExprDepth.push(depth);
        depth++;
        i += 2;
        lastSignificant = '{';
        return;
      } else i++;
    }
    blank(start, n);
  };
  while (i < n) {
    const c = src[i]!;
    const next = src[i + 1];
    if (c === '/' && next === '/') {
      const end = src.indexOf('\n', i);
      const stop = end === -1 ? n : end;
      blank(i, stop);
      i = stop;
    } else if (c === '/' && next === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end === -1 ? n : end + 2;
      blank(i, stop);
      i = stop;
    } else if (c === "'" || c === '"') {
      // Skipped, so its characters open nothing.
      const start = ++i;
      while (i < n && src[i] !== c && src[i] !== '\n') i += src[i] === '\\' ? 2 : 1;
      if (blankStrings) blank(start, Math.min(i, n));
      i++;
      lastSignificant = c;
    } else if (c === '`') {
      i++;
      scanTemplateText();
    } else if (c === '/' && /^$|[(,=:[!&|?{};+\-*%<>~^]$/.test(lastSignificant)) {
      // A regular expression literal (a `/` where a value is expected): skip it, classes included.
      const start = i;
      i++;
      let inClass = false;
      while (i < n && src[i] !== '\n') {
        const r = src[i];
        if (r === '\\') i += 2;
        else if (r === '[') {
          inClass = true;
          i++;
        } else if (r === ']') {
          inClass = false;
          i++;
        } else if (r === '/' && !inClass) break;
        else i++;
      }
      i++;
      blank(start, i);
      lastSignificant = '/x';
    } else if (c === '{') {
      depth++;
      i++;
      lastSignificant = c;
    } else if (c === '}') {
      depth--;
      i++;
      if (templateExprDepth.length > 0 && templateExprDepth[templateExprDepth.length - 1] === depth) {
        templateExprDepth.pop();
        scanTemplateText();
      } else lastSignificant = c;
    } else {
      if (!/\s/.test(c)) lastSignificant = /[\w$]/.test(c) ? 'w' : c;
      // `return /re/` and similar: a keyword before a slash still expects a value.
      if (/[\w$]/.test(c)) {
        const word = /^[\w$]+/.exec(src.slice(i, i + 12))![0];
        if (/^(return|typeof|case|do|else|in|of|new|delete|void|throw|yield|await)$/.test(word)) lastSignificant = '(';
        i += word.length;
        continue;
      }
      i++;
    }
  }
  return out.join('');
}

const STATIC_IMPORT = /(?:^|[;\n}])\s*(?:import|export)\b[^;'"`]*?\bfrom\s*(['"])([^'"\n]+)\1/g;
const SIDE_EFFECT_IMPORT = /(?:^|[;\n}])\s*import\s*(['"])([^'"\n]+)\1/g;
const DYNAMIC_IMPORT = /\bimport\s*\(\s*(['"])([^'"\n]+)\1/g;

/** Every import site of one file's source text. */
export function extractImports(src: string): ImportSite[] {
  const code = blankNonCode(src);
  const sites: { specifier: string; offset: number; names: Map<string, string> }[] = [];
  for (const re of [STATIC_IMPORT, SIDE_EFFECT_IMPORT, DYNAMIC_IMPORT]) {
    re.lastIndex = 0;
    for (let m = re.exec(code); m !== null; m = re.exec(code)) {
      const keyword = code.slice(m.index).search(/\b(import|export)\b/) + m.index;
      sites.push({ specifier: m[2]!, offset: keyword, names: importedNames(m[0]) });
    }
  }
  sites.sort((a, b) => a.offset - b.offset);
  return sites.map((s) => ({ specifier: s.specifier, line: lineAt(src, s.offset), names: s.names }));
}

/** The `{ a, type b, c as d }` bindings of an import or export statement. */
function importedNames(statement: string): Map<string, string> {
  const names = new Map<string, string>();
  const braces = /\{([^}]*)\}/.exec(statement);
  if (!braces) return names;
  for (const part of braces[1]!.split(',')) {
    const m = /^\s*(?:type\s+)?([\w$]+)(?:\s+as\s+([\w$]+))?\s*$/.exec(part);
    if (m) names.set(m[1]!, m[2] ?? m[1]!);
  }
  return names;
}

function lineAt(src: string, offset: number): number {
  let line = 1;
  for (let k = 0; k < offset; k++) if (src.charCodeAt(k) === 10) line++;
  return line;
}

/** All .ts files under the given folders (relative to root), sorted, with '/' separators. */
export function listTsFiles(root: string, folders: readonly string[]): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(path);
    }
  };
  for (const f of folders) walk(f);
  return files.sort();
}

/** Resolve the relative imports of the files to repository paths (`.js` in a specifier names the `.ts` source). */
export function fileEdges(root: string, files: readonly string[]): FileEdge[] {
  const edges: FileEdge[] = [];
  for (const from of files) {
    for (const site of extractImports(readFileSync(join(root, from), 'utf8'))) {
      if (!site.specifier.startsWith('.')) continue; // node: builtins and packages
      const target = relative(root, resolve(root, dirname(from), site.specifier))
        .split(sep)
        .join('/');
      edges.push({ from, to: target.replace(/\.js$/, '.ts'), line: site.line, names: site.names });
    }
  }
  return edges;
}

/**
 * The folder a file belongs to for layering: `src/<folder>` for files in a folder of src/, `src` for files
 * directly in src/ (the library index), the top folder (`codecs`) otherwise.
 */
export function folderOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] === 'src') return parts.length > 2 ? `src/${parts[1]}` : 'src';
  return parts[0]!;
}

/** Folder graph: for each pair of distinct folders, the file edges that make it. */
export function folderGraph(edges: readonly FileEdge[]): Map<string, Map<string, FileEdge[]>> {
  const graph = new Map<string, Map<string, FileEdge[]>>();
  for (const e of edges) {
    const a = folderOf(e.from);
    const b = folderOf(e.to);
    if (a === b) continue;
    let out = graph.get(a);
    if (!out) graph.set(a, (out = new Map()));
    let list = out.get(b);
    if (!list) out.set(b, (list = []));
    list.push(e);
  }
  return graph;
}

/**
 * The strongly connected components with more than one node (Tarjan), each as one cycle through all of them
 * where possible: a path of nodes that starts and ends on the same node. Sorted, so failures read the same on
 * every run.
 */
export function findCycles(graph: ReadonlyMap<string, ReadonlyMap<string, unknown>>): string[][] {
  const nodes = [...new Set([...graph.keys(), ...[...graph.values()].flatMap((m) => [...m.keys()])])].sort();
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  let counter = 0;
  const successors = (v: string): string[] => [...(graph.get(v)?.keys() ?? [])].sort();
  const connect = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of successors(v)) {
      if (!index.has(w)) {
        connect(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || successors(v).includes(v)) components.push(component.sort());
    }
  };
  for (const v of nodes) if (!index.has(v)) connect(v);
  return components.map((c) => cycleThrough(c, successors)).sort((a, b) => a.join().localeCompare(b.join()));
}

/** A shortest cycle from the first node of a strongly connected component back to it (breadth-first). */
function cycleThrough(component: string[], successors: (v: string) => string[]): string[] {
  const inside = new Set(component);
  const start = component[0]!; // a strongly connected component is never empty
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of successors(v)) {
      if (!inside.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let u = v; u !== start; u = previous.get(u)!) path.splice(1, 0, u);
        return [...path, start];
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return [...component, start];
}
