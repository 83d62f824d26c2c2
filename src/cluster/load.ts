/**
 * Loading a cluster file: YAML with `---`-separated documents, a YAML/JSON `kind: List` with `items` (what
 * `oc get ... -o yaml` prints), or a plain JSON array of objects; any mix of these across documents. The objects go
 * through build.ts, so a file either yields a complete, validated Cluster or throws a ConfigError.
 */

import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { buildFromSources, type SourceObject } from './build.js';
import { ConfigError } from './errors.js';
import { Fields } from './fields.js';
import { FALLBACK, parseBlockDocument, splitDocuments } from './yaml-block.js';
import type { Cluster } from './types.js';

/** Parses and validates the text of a cluster file. `fileName` is used in error messages only. */
export function parseClusterDocuments(text: string, fileName: string): Cluster {
  return buildFromSources(readClusterObjects(text, fileName), fileName);
}

/** Reads, parses and validates a cluster file. */
export function loadClusterFile(path: string): Cluster {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(path, '', '', `cannot read the file: ${(e as Error).message}`);
  }
  return parseClusterDocuments(text, path);
}

/**
 * The objects of a file with their positions (`document 2`, `items[3]`, `document 2 items[3]`), before any
 * validation of the objects themselves. YAML syntax errors are reported with line and column.
 */
export function readClusterObjects(text: string, fileName: string): SourceObject[] {
  const values = yamlValues(text, fileName);
  const single = values.length === 1;
  const out: SourceObject[] = [];
  values.forEach((value, d) => {
    const docName = `document ${d + 1}`;
    const prefix = single ? '' : `${docName} `;
    if (value === null || value === undefined) return; // an empty document, e.g. after a trailing `---`
    if (Array.isArray(value)) {
      value.forEach((doc, i) => out.push({ doc, position: `${prefix}[${i}]` }));
      return;
    }
    if (typeof value === 'object' && (value as { kind?: unknown }).kind === 'List') {
      const f = Fields.of({ file: fileName, object: `${docName} (List)` }, '', value);
      f.allow(['apiVersion', 'kind', 'items', 'metadata']);
      f.list('items').forEach(({ value: doc }, i) => out.push({ doc, position: `${prefix}items[${i}]` }));
      return;
    }
    out.push({ doc: value, position: docName });
  });
  return out;
}

/**
 * The value of every document of a YAML file. Block-style documents (what `oc get -o yaml` prints) are read by
 * yaml-block.ts, which is many times faster than the `yaml` package on big files and gives the same values; any
 * document it does not take on, and any file it cannot split, is parsed by the `yaml` package (whose errors then
 * carry the line in the whole file).
 */
function yamlValues(text: string, fileName: string): unknown[] {
  const docs = splitDocuments(text);
  if (!docs) return yamlPackageValues(text, fileName, 0);
  const values: unknown[] = [];
  for (const d of docs) {
    const v = parseBlockDocument(d.text);
    if (v !== FALLBACK) values.push(v);
    else values.push(yamlPackageValues(d.text, fileName, d.line)[0] ?? null);
  }
  return values;
}

/** Documents parsed by the `yaml` package; `lineOffset` is the line `text` starts on in the file (0-based). */
function yamlPackageValues(text: string, fileName: string, lineOffset: number): unknown[] {
  const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [];
  const values: unknown[] = [];
  for (const doc of list) {
    const err = doc.errors[0];
    if (err) {
      const pos = err.linePos?.[0];
      const message = err.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '');
      throw new ConfigError(fileName, '', '', `YAML syntax error: ${message}`, pos ? pos.line + lineOffset : undefined, pos?.col);
    }
    try {
      values.push(doc.toJS());
    } catch (e) {
      throw new ConfigError(fileName, '', '', `YAML error: ${(e as Error).message}`);
    }
  }
  return values;
}
