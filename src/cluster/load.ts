/**
 * Loading a cluster file: YAML with `---`-separated documents, a YAML/JSON `kind: List` with `items` (what
 * `oc get ... -o yaml` prints), or a plain JSON array of objects; any mix of these across documents. The objects go
 * through build.ts, so a file either yields a complete, validated Cluster or throws a ConfigError.
 */

import { closeSync, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { isMap, isPair, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import { buildFromObjects, type SourceObject } from './build.js';
import { ConfigError } from './errors.js';
import { Fields } from './fields.js';
import { readObject, type AnyDoc } from './objects.js';
import { FALLBACK, parseBlockDocument, splitDocuments, StringTable } from './yaml-block.js';
import type { Cluster } from './types.js';

/** Parses and validates the text of a cluster file. `fileName` is used in error messages only. */
export function parseClusterDocuments(text: string, fileName: string): Cluster {
  return buildFromObjects(readClusterFileObjects(text, fileName), fileName);
}

/** Reads, parses and validates a cluster file. */
export function loadClusterFile(path: string): Cluster {
  const objs = readClusterFileObjects(readClusterFile(path), path); // the text is garbage from here on
  return buildFromObjects(objs, path);
}

/**
 * The largest cluster file packetwalk reads: 64 MiB. A 2,000-node, 150,000-pod cluster in `oc get -o yaml` form is
 * about 50 MB; the YAML parser needs some 35 bytes of memory per byte of input, so the cap keeps a mistaken
 * `--cluster /var/log/huge.log` from exhausting memory.
 */
export const MAX_CLUSTER_FILE_BYTES = 64 * 1024 * 1024;

/** Deepest nesting of mappings and lists read (a Kubernetes object needs about ten levels). */
export const MAX_NESTING = 100;

/**
 * The text of a cluster file, refused with a ConfigError when it is not a regular file (a device such as
 * /dev/zero, a FIFO, a directory), is larger than MAX_CLUSTER_FILE_BYTES, or is not UTF-8 (see decodeClusterText).
 */
export function readClusterFile(path: string): string {
  const fail = (detail: string): never => {
    throw new ConfigError(path, '', '', detail);
  };
  const check = (st: Stats): void => {
    if (!st.isFile()) fail(`not a regular file (${fileKind(st)}); expected a YAML or JSON file`);
    if (st.size > MAX_CLUSTER_FILE_BYTES)
      fail(
        `the file is ${st.size} bytes; packetwalk reads cluster files of at most ${MAX_CLUSTER_FILE_BYTES} bytes (64 MiB)`,
      );
  };
  let fd = -1;
  try {
    check(statSync(path)); // before open: opening a FIFO would block
    fd = openSync(path, 'r');
    const st = fstatSync(fd); // the file opened is the file checked
    check(st);
    const bytes = Buffer.allocUnsafe(st.size);
    let n = 0;
    while (n < bytes.length) {
      const got = readSync(fd, bytes, n, bytes.length - n, n);
      if (got === 0) break;
      n += got;
    }
    return decodeClusterText(bytes.subarray(0, n), path);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    return fail(`cannot read the file: ${describeFsError(e as NodeJS.ErrnoException)}`);
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

function fileKind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  return 'not a file';
}

function describeFsError(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    case 'ELOOP':
      return 'too many symbolic links';
    case 'ENAMETOOLONG':
      return 'the name is too long';
    case 'EISDIR':
      return 'it is a directory';
    default:
      return e.code ?? e.message;
  }
}

/**
 * Bytes of a cluster file as text: UTF-8, with or without a byte order mark. UTF-16/32 (what Windows editors and
 * PowerShell's `>` write) is recognised by its byte order mark or its NUL bytes and refused with a hint; a NUL
 * byte or an invalid UTF-8 sequence is refused with its byte offset, line and column (never decoded to U+FFFD).
 */
export function decodeClusterText(bytes: Uint8Array, file: string): string {
  const b = bytes;
  const at = (offset: number, detail: string): never => {
    const { line, column } = byteLinePos(b, offset);
    throw new ConfigError(file, '', '', detail, line, column);
  };
  const encoding = (name: string): never => {
    throw new ConfigError(file, '', '', `the file is ${name}; save it as UTF-8`);
  };
  if (b[0] === 0x00 && b[1] === 0x00 && b[2] === 0xfe && b[3] === 0xff) encoding('UTF-32BE');
  if (b[0] === 0xff && b[1] === 0xfe && b[2] === 0x00 && b[3] === 0x00) encoding('UTF-32LE');
  if (b[0] === 0xff && b[1] === 0xfe) encoding('UTF-16LE');
  if (b[0] === 0xfe && b[1] === 0xff) encoding('UTF-16BE');
  const start = b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
  const nul = b.indexOf(0, start);
  if (nul >= 0) {
    // ASCII text in UTF-16 without a byte order mark: every other byte is 0.
    const sample = Math.min(b.length, 4096) & ~1;
    let even = 0,
      odd = 0;
    for (let i = 0; i < sample; i += 2) {
      if (b[i] === 0) even++;
      if (b[i + 1] === 0) odd++;
    }
    if (odd * 4 > sample) encoding('UTF-16LE');
    if (even * 4 > sample) encoding('UTF-16BE');
    at(nul, `NUL byte at byte offset ${nul} (expected a UTF-8 text file)`);
  }
  const bad = firstInvalidUtf8(b, start);
  if (bad >= 0)
    at(
      bad,
      `invalid UTF-8 at byte offset ${bad} (byte 0x${b[bad]!.toString(16).padStart(2, '0')}; save the file as UTF-8)`,
    );
  return Buffer.from(b.buffer, b.byteOffset + start, b.length - start).toString('utf8');
}

/** 1-based line and byte column of a byte offset. */
function byteLinePos(b: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1,
    lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (b[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

/** Offset of the first byte that does not start or continue a well-formed UTF-8 sequence (RFC 3629), or -1. */
function firstInvalidUtf8(b: Uint8Array, from: number): number {
  const n = b.length;
  let i = from;
  while (i < n) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number,
      lo = 0x80,
      hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0; // overlong
      if (c === 0xed) hi = 0x9f; // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90; // overlong
      if (c === 0xf4) hi = 0x8f; // above U+10FFFF
    } else return i;
    if (i + need >= n) return i; // truncated at the end of the file
    const c1 = b[i + 1]!;
    if (c1 < lo || c1 > hi) return i;
    for (let k = 2; k <= need; k++) if (b[i + k]! < 0x80 || b[i + k]! > 0xbf) return i;
    i += need + 1;
  }
  return -1;
}

/**
 * The objects of a file with their positions (`document 2`, `items[3]`, `document 2 items[3]`), before any
 * validation of the objects themselves. YAML syntax errors are reported with line and column.
 */
export function readClusterObjects(text: string, fileName: string): SourceObject[] {
  const values: unknown[] = [];
  yamlValues(text, fileName, (v) => values.push(v));
  const out: SourceObject[] = [];
  for (const [d, value] of values.entries())
    documentObjects(value, d, values.length === 1, fileName, (doc, position) => out.push({ doc, position }));
  if (out.length === 0) throw noObjects(fileName);
  return out;
}

/**
 * The objects of a file read (objects.ts readObject) as each document is parsed, so that no more than one parsed
 * document is held at a time: what a big file needs. Errors come as readClusterObjects and buildFromSources give
 * them: YAML syntax errors first, then a bad `kind: List`, then an empty file, then the first bad object.
 */
export function readClusterFileObjects(text: string, fileName: string): AnyDoc[] {
  const objs: AnyDoc[] = [];
  let found = 0;
  let listError: unknown, objectError: unknown;
  yamlValues(text, fileName, (value, d, count) => {
    if (listError !== undefined) return;
    try {
      documentObjects(value, d, count === 1, fileName, (doc, position) => {
        found++;
        if (objectError !== undefined) return;
        try {
          objs.push(readObject(fileName, position, doc));
        } catch (e) {
          objectError = e;
        }
      });
    } catch (e) {
      listError = e;
    }
  });
  if (listError !== undefined) throw listError;
  if (found === 0) throw noObjects(fileName);
  if (objectError !== undefined) throw objectError;
  return objs;
}

function noObjects(fileName: string): ConfigError {
  return new ConfigError(
    fileName,
    '',
    '',
    'the file holds no objects (expected Kubernetes objects such as HostSubnet and Pod, as `---` documents or a kind: List)',
  );
}

/** The objects of document `d` (0-based; `single` when the file has one): itself, a List's items or an array's. */
function documentObjects(
  value: unknown,
  d: number,
  single: boolean,
  fileName: string,
  out: (doc: unknown, position: string) => void,
): void {
  const docName = `document ${d + 1}`;
  const prefix = single ? '' : `${docName} `;
  if (value === null || value === undefined) return; // an empty document, e.g. after a trailing `---`
  if (Array.isArray(value)) {
    for (const [i, doc] of value.entries()) out(doc, `${prefix}[${i}]`);
    return;
  }
  if (typeof value === 'object' && (value as { kind?: unknown }).kind === 'List') {
    const f = Fields.of({ file: fileName, object: `${docName} (List)` }, '', value);
    f.allow(['apiVersion', 'kind', 'items', 'metadata']);
    for (const [i, { value: doc }] of f.list('items').entries()) out(doc, `${prefix}items[${i}]`);
    return;
  }
  out(value, docName);
}

/**
 * The value of every document of a YAML file. Block-style documents (what `oc get -o yaml` prints) are read by
 * yaml-block.ts, which is many times faster than the `yaml` package on big files and gives the same values; any
 * document it does not take on, and any file it cannot split, is parsed by the `yaml` package (whose errors then
 * carry the line in the whole file).
 */
function yamlValues(text: string, fileName: string, each: (value: unknown, d: number, count: number) => void): void {
  const json = jsonValue(text);
  if (json !== NOT_JSON) return each(json, 0, 1);
  const docs = splitDocuments(text);
  if (!docs) {
    const values = yamlPackageValues(text, fileName, 0);
    for (const [d, v] of values.entries()) each(v, d, values.length);
    return;
  }
  const strings = new StringTable();
  for (let i = 0; i < docs.length; i++) {
    const d = docs[i]!;
    const v = parseBlockDocument(d.text, strings);
    each(v !== FALLBACK ? v : (yamlPackageValues(d.text, fileName, d.line)[0] ?? null), i, docs.length);
  }
}

const NOT_JSON: unique symbol = Symbol('not JSON');

/**
 * The value of a JSON file (`oc get -o json`, a JSON array of objects) by JSON.parse, which reads a 50 MB file in
 * a second where the `yaml` package takes minutes and gigabytes. JSON is YAML, and JSON.parse gives the values the
 * `yaml` package gives for it, except where the `yaml` package refuses the file: duplicate keys, nesting deeper
 * than MAX_NESTING (and a `__proto__` key is left to it too). Such a file, and any text JSON.parse refuses, is
 * NOT_JSON: the `yaml` package reads it and reports the error with its line and column, as before.
 */
function jsonValue(text: string): unknown {
  let i = 0;
  while (
    i < text.length &&
    (text.charCodeAt(i) === 0x20 ||
      text.charCodeAt(i) === 0x0a ||
      text.charCodeAt(i) === 0x0d ||
      text.charCodeAt(i) === 0x09)
  )
    i++;
  if (text.charCodeAt(i) !== 0x7b /* { */ && text.charCodeAt(i) !== 0x5b /* [ */) return NOT_JSON;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return NOT_JSON;
  }
  // Keys in the value against `:` outside strings in the text (each separates one key from its value): fewer
  // keys than separators means a key was given twice.
  let keys = 0;
  const values: unknown[] = [value],
    depths: number[] = [1];
  while (values.length > 0) {
    const v = values.pop(),
      depth = depths.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > MAX_NESTING) return NOT_JSON;
    if (Array.isArray(v)) {
      for (const x of v) {
        values.push(x);
        depths.push(depth + 1);
      }
      continue;
    }
    for (const k in v) {
      if (k === '__proto__') return NOT_JSON;
      keys++;
      values.push((v as Record<string, unknown>)[k]);
      depths.push(depth + 1);
    }
  }
  let separators = 0;
  let inString = false;
  for (let j = i; j < text.length; j++) {
    const c = text.charCodeAt(j);
    if (inString) {
      if (c === 0x5c /* \ */) j++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x3a /* : */) separators++;
  }
  return keys === separators ? value : NOT_JSON;
}

/** Documents parsed by the `yaml` package; `lineOffset` is the line `text` starts on in the file (0-based). */
function yamlPackageValues(text: string, fileName: string, lineOffset: number): unknown[] {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true, lineCounter });
  const list = Array.isArray(docs) ? docs : [];
  const values: unknown[] = [];
  const inFile = (pos: { line: number; col: number } | undefined): { line: number; col: number } | undefined =>
    pos ? { line: pos.line + lineOffset, col: pos.col } : undefined;
  for (const doc of list) {
    const err = doc.errors[0];
    if (err) {
      const pos = inFile(err.linePos?.[0]);
      // The parser recurses per level and reports running out of stack as an error at the deep spot.
      if (/Maximum call stack size exceeded/.test(err.message)) throw tooDeep(fileName, pos);
      const message = err.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '');
      throw new ConfigError(fileName, '', '', `YAML syntax error: ${message}`, pos?.line, pos?.col);
    }
    const deep = firstTooDeep(doc.contents);
    if (deep !== undefined) throw tooDeep(fileName, inFile(lineCounter.linePos(deep)));
    try {
      values.push(doc.toJS());
    } catch (e) {
      throw new ConfigError(fileName, '', '', `YAML error: ${(e as Error).message}`);
    }
  }
  return values;
}

function tooDeep(fileName: string, pos: { line: number; col: number } | undefined): ConfigError {
  return new ConfigError(fileName, '', '', `nesting too deep (more than ${MAX_NESTING} levels)`, pos?.line, pos?.col);
}

/** Source offset of the first collection nested deeper than MAX_NESTING, or undefined (iterative: no recursion). */
function firstTooDeep(root: unknown): number | undefined {
  const stack: [unknown, number][] = [[root, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (isMap(node) || isSeq(node)) {
      if (depth > MAX_NESTING) return node.range?.[0] ?? 0;
      for (const item of node.items as unknown[]) {
        if (isPair(item)) {
          stack.push([item.key, depth + 1], [item.value, depth + 1]);
        } else stack.push([item, depth + 1]);
      }
    }
  }
  return undefined;
}
