/**
 * The fast block-YAML reader (src/cluster/yaml-block.ts) gives exactly the `yaml` package's values, or hands the
 * document back (FALLBACK): on real-shaped files, on tricky scalars, and on random block documents.
 */

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { builtinClusterDocuments } from '../../src/cluster/builtin.js';
import { FALLBACK, parseBlockDocument, splitDocuments, StringTable } from '../../src/cluster/yaml-block.js';

const FIXTURE = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'user-cluster.yaml');

function reference(text: string): unknown[] {
  return parseAllDocuments(text, { uniqueKeys: true }).map((d) => d.toJS());
}

/** What the loader reads: fast where it can, the yaml package where it falls back. */
function fast(text: string): { values: unknown[]; fallbacks: number } | undefined {
  const docs = splitDocuments(text);
  if (!docs) return undefined;
  let fallbacks = 0;
  const values = docs.map((d) => {
    const v = parseBlockDocument(d.text);
    if (v !== FALLBACK) return v;
    fallbacks++;
    return reference(d.text)[0] ?? null;
  });
  return { values, fallbacks };
}

describe('the block YAML reader', () => {
  it('reads the built-in cluster as the yaml package prints it, with no fallback', () => {
    const text = builtinClusterDocuments()
      .map((d) => `---\n${stringify(d)}`)
      .join('');
    const r = fast(text)!;
    expect(r.fallbacks).toBe(0);
    expect(r.values).toEqual(reference(text));
  });

  it('reads the user-cluster fixture (oc get -o yaml form) to the same values', () => {
    const text = readFileSync(FIXTURE, 'utf8');
    expect(fast(text)!.values).toEqual(reference(text));
  });

  it.each([
    [
      'numbers and look-alikes',
      'a: 1\nb: -7\nc: 007\nd: 1.5\ne: 0x1f\nf: 10.128.0.0/14\ng: 1.0.0\nh: +3\ni: 1e3\nj: .inf\n',
    ],
    ['nulls and booleans', 'a:\nb: ~\nc: null\nd: True\ne: FALSE\nf: yes\ng: "true"\n'],
    ['quotes and comments', "a: 'it''s' # c\nb: \"x\\ty\"\nc: a#b\nd: x # y\n'e f': 1\n\"g\": [] # c\nh: {}\n"],
    ["sequences at the key's indent", 'a:\n- 1\n- name: x\n  v: 2\n-\n  - 3\nb: 4\n'],
    [
      'things it leaves to the yaml package',
      'a: &x 1\nb: *x\nc: |\n  text\nd: [1, 2]\ne: "multi\n  line"\nf: plain\n  continued\n',
    ],
    ['duplicate keys (an error, from the yaml package)', 'a: 1\na: 2\n'],
    ['a document separator with a trailing empty document', '---\na: 1\n---\n'],
    ['comments before the first document', '# head\n\n---\na: 1\n'],
    [
      'trailing white space, CRLF and stray carriage returns',
      'a: x \t\r\nb:\r\n  - y\t\r\n  -  z\u00a0\u3000\nc: w\r\r\nd: \x0b\n  \r\ne: v\u2003 # c \r\n',
    ],
  ])('%s', (_name, text) => {
    const r = fast(text);
    let ref: unknown[] | Error;
    try {
      const docs = parseAllDocuments(text, { uniqueKeys: true });
      if (docs.some((d) => d.errors.length > 0)) throw new Error('yaml error');
      ref = docs.map((d) => d.toJS());
    } catch (e) {
      ref = e as Error;
    }
    if (ref instanceof Error) {
      // The fast reader must not accept what the yaml package rejects.
      expect(r === undefined || r.values.every((v) => v !== undefined)).toBe(true);
      const d = splitDocuments(text)!;
      expect(d.map((x) => parseBlockDocument(x.text))).toContain(FALLBACK);
    } else {
      expect(r?.values ?? ref).toEqual(ref);
    }
  });

  it('agrees with the yaml package on random block documents', () => {
    const key = fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_./-]{0,8}$/);
    const scalar = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.integer(),
      fc.double({ noNaN: true }),
      fc.boolean(),
      fc.constant(null),
      fc.constantFrom('10.0.0.1', '1.0.0', '0o17', '007', 'yes', '~', '-', 'a: b', '#x', "it's", '[]', '{}'),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        scalar,
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(key, tie('node'), { maxKeys: 4 }),
      ),
    })).node;
    fc.assert(
      fc.property(fc.array(fc.dictionary(key, value, { maxKeys: 5 }), { minLength: 1, maxLength: 3 }), (docs) => {
        const text = docs.map((d) => `---\n${stringify(d)}`).join('');
        expect(fast(text)!.values).toEqual(reference(text));
      }),
      { numRuns: 300 },
    );
  });
});

describe('StringTable', () => {
  it('gives one instance per value, equal to the text read, non-Latin-1 included', () => {
    const strings = new StringTable();
    const text =
      'a: aro2-p8bjm-worker-big-0001\nb: aro2-p8bjm-worker-big-0001\nc: short\nd: ünïcödé-välüé-ıś-kept\ne: 😀-emoji-value-kept-too\n';
    const v = parseBlockDocument(text, strings) as Record<string, string>;
    expect(v).toEqual(parseBlockDocument(text));
    expect(v.a).toBe('aro2-p8bjm-worker-big-0001');
    expect(Object.is(v.a, v.b)).toBe(true);
    expect(strings.get(`aro2-p8bjm-worker-big-${'0001'}`)).toBe(v.a);
  });
});
