/**
 * The layers you can read from the folder list: the import graph of src/ and codecs/ (type imports included)
 * checked against the rules below and against the layer picture in README.md (## Layout).
 *
 * Rules:
 *  (a) no circle between folders of src/ (nor between files);
 *  (b) the data path (src/buffer, ports, node, ovs, netfilter, capture, trace, cluster and codecs/) never imports
 *      src/fastpath: the fast path is a cache above the data path, not a part of it;
 *  (c) src/walk imports neither src/picture nor src/scenarios: pictures and scenarios are built on walks;
 *  (d) codecs/ imports nothing from src/: wire formats know no emulator;
 *  (e) README's layer picture names every folder once, and every import goes to a folder on a lower line;
 *  (f) no process-wide mutable state (module-level state, as test/helpers/module-state.ts finds it) beyond
 *      ALLOWED_MODULE_STATE: a global couples every Emulation in the process (a cache stamped by one is
 *      invalidated by another). Allowed is state that carries nothing from one call to the next (scratch
 *      registers a call fills and reads before it returns, memo tables of pure functions, tables filled once at
 *      load), state a thread owns (the shard worker), and the layer registry, process-wide by design.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  extractImports,
  fileEdges,
  findCycles,
  folderGraph,
  folderOf,
  listTsFiles,
  type FileEdge,
} from './helpers/import-graph.js';
import { findModuleState, firstMutation, moduleDeclarations } from './helpers/module-state.js';

/**
 * KNOWN EXCEPTIONS — import edges (`from -> to`) or globals (`file NAME`) the rules would refuse but that are
 * accepted for now, each with why. Empty since issue 13 landed (the fast path became an observer, src/runtime
 * split from src/node): keep it empty. An entry that no longer matches anything fails, so it can only shrink.
 */
const KNOWN_EXCEPTIONS: readonly { edge?: string; global?: string; why: string }[] = [];

/**
 * Module-level state allowed by rule (f), with why it is not process-wide state in effect. Part of the rule, not
 * an exception: it stays.
 */
const ALLOWED_MODULE_STATE: readonly { state: string; why: string }[] = [
  { state: 'src/shard/shard-worker.ts *', why: "a worker thread's own state: one module instance per thread" },
  { state: 'codecs/dissect.ts padStart', why: 'scratch of one dissect() call, reset at its start' },
  { state: 'codecs/dissect.ts padEnd', why: 'scratch of one dissect() call, reset at its start' },
  { state: 'codecs/dissect.ts padCount', why: 'scratch of one dissect() call, reset at its start' },
  { state: 'codecs/dissect.ts firstFaultAt', why: 'scratch of one dissect() call, set before it is read' },
  { state: 'src/ovs/field-access.ts outHi', why: "insertBits' second result, read right after the call" },
  { state: 'src/ovs/field-access.ts outLo', why: "insertBits' second result, read right after the call" },
  { state: 'src/ovs/field-access.ts BY_NAME', why: 'filled once at load, read only after' },
  { state: 'src/ovs/compile-actions.ts FIELD_WORDS', why: 'memo of a pure function of a field' },
  { state: 'src/netfilter/nat.ts cand', why: 'scratch tuple of one NAT lookup' },
  ...['byEthertype', 'byIpProtocol', 'byUdpPort', 'ethertypeOfKind', 'ipProtocolOfKind', 'udpPortOfKind'].map(
    (name) => ({
      state: `codecs/registry.ts ${name}`,
      why: "the layer registry: process-wide by design, like scapy's bind_layers (a user's binding applies to every dissection)",
    }),
  ),
];

/** The data path of rule (b). */
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
];

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FILES = listTsFiles(ROOT, ['src', 'codecs']);
const ALL_EDGES = fileEdges(ROOT, FILES);
const edgeText = (e: FileEdge): string => `${e.from} -> ${e.to}`;
const EXCEPTED_EDGES = new Set(KNOWN_EXCEPTIONS.flatMap((x) => (x.edge ? [x.edge] : [])));
/** The graph the rules are checked on: every import but the known exceptions. */
const EDGES = ALL_EDGES.filter((e) => !EXCEPTED_EDGES.has(edgeText(e)));
const where = (e: FileEdge): string => `${e.from}:${e.line} imports ${e.to}`;
const MODULE_STATE = findModuleState(ROOT, FILES, ALL_EDGES);

/** A folder cycle as text: the path, then the imports that make each of its steps. */
function describeCycle(cycle: string[], graph: Map<string, Map<string, FileEdge[]>>): string {
  const steps = cycle.slice(1).map(
    (to, k) =>
      `  ${cycle[k]} -> ${to}:\n` +
      graph
        .get(cycle[k]!)!
        .get(to)!
        .map((e) => `    ${where(e)}`)
        .join('\n'),
  );
  return `${cycle.join(' -> ')}\n${steps.join('\n')}`;
}

/** README's layer picture, top line first: the folders of each line (`index.ts` stands for src/index.ts). */
function readLayerPicture(): string[][] {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const marker = readme.indexOf('<!-- layers: checked by test/layering.test.ts -->');
  expect(marker, 'README.md has the layer picture marker').toBeGreaterThan(0);
  const block = /```\n([\s\S]*?)```/.exec(readme.slice(marker))![1]!;
  return block
    .split('\n')
    .map((line) => /^ {2}([a-z.-]+(?:, [a-z.-]+)*)(?: {2,}|$)/.exec(line)?.[1])
    .filter((names): names is string => names !== undefined)
    .map((names) => names.split(', ').map((n) => (n === 'index.ts' ? 'src' : n === 'codecs' ? 'codecs' : `src/${n}`)));
}

describe('the cycle finder', () => {
  const graph = (edges: string): Map<string, Map<string, true>> => {
    const g = new Map<string, Map<string, true>>();
    for (const e of edges.split(' ')) {
      const [a, b] = e.split('>') as [string, string];
      if (!g.has(a)) g.set(a, new Map());
      g.get(a)!.set(b, true);
    }
    return g;
  };

  it('finds no cycle in a layered graph', () => {
    expect(findCycles(graph('cli>walk cli>picture picture>walk walk>node node>codecs'))).toEqual([]);
  });

  it('finds a two-folder circle and a longer one, each as a path back to its start', () => {
    expect(findCycles(graph('walk>picture picture>walk a>b b>c c>a c>d'))).toEqual([
      ['a', 'b', 'c', 'a'],
      ['picture', 'walk', 'picture'],
    ]);
  });

  it('gives a shortest cycle through a tangle', () => {
    expect(findCycles(graph('a>b b>c c>d d>a b>a'))).toEqual([['a', 'b', 'a']]);
  });
});

describe('the import reader', () => {
  it('reads static, type-only, re-export, multi-line, side-effect and dynamic imports', () => {
    const src = [
      "import { a } from './a.js';",
      "import type { B } from '../b/b.js';",
      'import {',
      '  c,',
      '  type D as E,',
      "} from './c.js';",
      "export { f } from './f.js';",
      "export type * from './g.js';",
      "import './h.js';",
      "const i = await import('./i.js');",
      "type J = typeof import('./j.js');",
    ].join('\n');
    expect(extractImports(src).map((s) => `${s.line} ${s.specifier}`)).toEqual([
      '1 ./a.js',
      '2 ../b/b.js',
      '3 ./c.js',
      '7 ./f.js',
      '8 ./g.js',
      '9 ./h.js',
      '10 ./i.js',
      '11 ./j.js',
    ]);
    expect([...extractImports(src)[2]!.names]).toEqual([
      ['c', 'c'],
      ['D', 'E'],
    ]);
  });

  it('ignores imports inside comments, templates and strings, and is not thrown by regular expressions', () => {
    const src = [
      "// import { x } from './comment.js';",
      "/* export * from './block.js'; */",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: source text holding a template literal, on purpose
      "const code = `import(${JSON.stringify('./template.js')}) ${'`'} import x from './t.js'`;",
      'const quote = /[\'"`]/g;',
      'const text = "import y from \'./string.js\'";',
      "import { real } from './real.js';",
    ].join('\n');
    expect(extractImports(src).map((s) => s.specifier)).toEqual(['./real.js']);
  });
});

describe('the module-state reader', () => {
  it('finds lets, and module-level containers that are mutated, not constant tables', () => {
    const src = [
      'let counter = 0;',
      'export const GLOBAL = { value: 1 };',
      "const TABLE = ['a', 'b'];",
      'const cache = new Map<string, number>();',
      'function f(): void {',
      '  let local = 0;',
      '  const inner = { n: 1 };',
      '  inner.n = local;',
      '  if (GLOBAL.value === 1) cache.set("k", 1);',
      '}',
      'export function bump(): void { GLOBAL.value++; }',
    ].join('\n');
    expect(moduleDeclarations(src).map((d) => `${d.kind} ${d.name}`)).toEqual([
      'let counter',
      'container GLOBAL',
      'container TABLE',
      'container cache',
    ]);
    expect(firstMutation(src, 'GLOBAL')?.line).toBe(11);
    expect(firstMutation(src, 'cache')?.line).toBe(9);
    expect(firstMutation(src, 'TABLE')).toBeUndefined();
    expect(
      firstMutation('const X = { a: 1 };\nif (X.a === 1 || X.a == 2) f(X);\nconst g = (x = X.a) => x;', 'X'),
    ).toBeUndefined();
  });
});

describe('layering', () => {
  it('reads every import of src/ and codecs/', () => {
    expect(FILES.length).toBeGreaterThan(100);
    const unresolved = ALL_EDGES.filter((e) => !FILES.includes(e.to)).map(where);
    expect(unresolved, 'every relative import names a .ts file of src/ or codecs/').toEqual([]);
  });

  it('has no circle between folders of src/ (a)', () => {
    const graph = folderGraph(EDGES);
    const cycles = findCycles(graph).map((c) => describeCycle(c, graph));
    expect(cycles, `import circles between folders:\n${cycles.join('\n')}`).toEqual([]);
  });

  it('has no circle between files (a)', () => {
    const graph = new Map<string, Map<string, FileEdge[]>>();
    for (const e of EDGES) {
      if (!graph.has(e.from)) graph.set(e.from, new Map());
      graph.get(e.from)!.set(e.to, [e]);
    }
    const cycles = findCycles(graph).map((c) => describeCycle(c, graph));
    expect(cycles, `import circles between files:\n${cycles.join('\n')}`).toEqual([]);
  });

  it('keeps the fast path out of the data path (b)', () => {
    const bad = EDGES.filter((e) => DATA_PATH.includes(folderOf(e.from)) && folderOf(e.to) === 'src/fastpath').map(
      where,
    );
    expect(bad).toEqual([]);
  });

  it('builds pictures and scenarios on walks, not walks on them (c)', () => {
    const bad = EDGES.filter(
      (e) => folderOf(e.from) === 'src/walk' && ['src/picture', 'src/scenarios'].includes(folderOf(e.to)),
    ).map(where);
    expect(bad).toEqual([]);
  });

  it('keeps codecs/ free of src/ (d)', () => {
    const bad = EDGES.filter((e) => e.from.startsWith('codecs/') && !e.to.startsWith('codecs/')).map(where);
    expect(bad).toEqual([]);
  });

  it("matches README's layer picture: every folder once, every import downward (e)", () => {
    const picture = readLayerPicture();
    const pictured = picture.flat();
    const folders = [
      'codecs',
      'src',
      ...readdirSync(new URL('../src', import.meta.url), { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => `src/${d.name}`),
    ].sort();
    expect([...pictured].sort(), 'the picture names each folder of src/ (and codecs, index.ts) exactly once').toEqual(
      folders,
    );
    // Lines are listed top first: a larger line number is a lower layer.
    const line = new Map(picture.flatMap((names, k) => names.map((n) => [n, k] as const)));
    const upward = EDGES.filter(
      (e) => folderOf(e.from) !== folderOf(e.to) && line.get(folderOf(e.to))! <= line.get(folderOf(e.from))!,
    ).map(where);
    expect(upward, 'imports of a folder on the same line or a line above').toEqual([]);
  });

  it('has no process-wide mutable state beyond the allowed (f)', () => {
    const exceptedGlobals = new Set(KNOWN_EXCEPTIONS.flatMap((x) => (x.global ? [x.global] : [])));
    const allowed = new Set(ALLOWED_MODULE_STATE.map((a) => a.state));
    const found = MODULE_STATE;
    const bad = found.filter(
      (s) =>
        !allowed.has(`${s.file} ${s.name}`) &&
        !allowed.has(`${s.file} *`) &&
        !exceptedGlobals.has(`${s.file} ${s.name}`),
    );
    expect(bad.map((s) => `${s.file}:${s.line} ${s.name}: ${s.how}`)).toEqual([]);
    const stale = ALLOWED_MODULE_STATE.filter(
      (a) => !found.some((s) => a.state === `${s.file} ${s.name}` || a.state === `${s.file} *`),
    ).map((a) => a.state);
    expect(stale, 'allowed module state that no longer exists: remove it from ALLOWED_MODULE_STATE').toEqual([]);
  });

  it('lists only known exceptions that still exist (empty the list as issue 13 lands)', () => {
    const edges = new Set(ALL_EDGES.map(edgeText));
    const globals = new Set(MODULE_STATE.map((s) => `${s.file} ${s.name}`));
    const stale = KNOWN_EXCEPTIONS.filter((x) => (x.edge ? !edges.has(x.edge) : !globals.has(x.global!))).map(
      (x) => x.edge ?? x.global,
    );
    expect(stale, 'fixed: remove these from KNOWN_EXCEPTIONS').toEqual([]);
  });
});
