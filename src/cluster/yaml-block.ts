/**
 * A fast reader for the block-style YAML that `oc get -o yaml` and `kubectl get -o yaml` print — nested block
 * mappings and sequences of plain, single- and double-quoted one-line scalars, `[]` and `{}`, comments — giving
 * exactly the values the `yaml` package's `toJS()` gives (YAML 1.2 core schema). The `yaml` package builds a
 * full syntax tree with source ranges for every node, which costs about a minute and 2 GB for a 50 MB cluster
 * file; this reads the same file in seconds.
 *
 * It never guesses: a document with anything outside that subset (flow collections with content, block scalars
 * `|` `>`, multi-line plain or quoted scalars, anchors, aliases, tags, directives, complex or duplicate keys,
 * keys that are not strings, numbers it does not write the same way, tabs in indentation, nesting deeper than
 * MAX_DEPTH) returns FALLBACK, and the caller parses that document with the `yaml` package, which also gives the
 * error messages with line and column for broken input.
 */

/** Returned for a document this reader does not take on; parse it with the `yaml` package instead. */
export const FALLBACK: unique symbol = Symbol('fallback');

/** Deeper documents go to the `yaml` package (cluster objects nest about 8 levels). */
export const MAX_DEPTH = 64;

/** One document of a multi-document file: its text and the 0-based line it starts on. */
export interface DocumentText {
  text: string;
  line: number;
}

/**
 * Split a file into its `---`-separated documents the way the `yaml` package counts them: text before the first
 * `---` is a document only when it holds more than comments and blank lines; every `---` starts one (an empty one
 * is null). Returns undefined when the file has directives (`%YAML`), document end markers (`...`), content on a
 * `---` line or a byte-order mark: the caller then parses the whole file with the `yaml` package.
 */
export function splitDocuments(text: string): DocumentText[] | undefined {
  if (text.charCodeAt(0) === 0xfeff) return undefined;
  const docs: DocumentText[] = [];
  let start = 0,
    startLine = 0,
    line = 0,
    pos = 0;
  let sawSeparator = false;
  while (pos <= text.length) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    const c = text.charCodeAt(pos);
    if (c === 0x25 /* % */ && !sawSeparator) return undefined; // a directive
    if (c === 0x2e /* . */ && text.startsWith('...', pos)) return undefined;
    if (c === 0x2d /* - */ && text.startsWith('---', pos)) {
      const after = text.slice(pos + 3, end).replace(/\r$/, '');
      if (after === '' || /^[ \t]+(#.*)?$/.test(after)) {
        const before = text.slice(start, pos);
        if (sawSeparator || !isBlank(before)) docs.push({ text: before, line: startLine });
        sawSeparator = true;
        start = end + 1;
        startLine = line + 1;
      } else if (/^[ \t]/.test(after)) {
        return undefined; // `--- value` or `--- !tag`
      }
    }
    line++;
    pos = end + 1;
  }
  const rest = start <= text.length ? text.slice(start) : '';
  if (sawSeparator || !isBlank(rest)) docs.push({ text: rest, line: startLine });
  return docs;
}

function isBlank(text: string): boolean {
  return /^(\s*(#.*)?(\n|$))*$/.test(text);
}

interface Line {
  indent: number;
  /** The line without its indentation and trailing spaces (comment-only and blank lines are left out). */
  content: string;
}

class Unsupported extends Error {}

function unsupported(): never {
  throw new Unsupported();
}

/**
 * String values as kept: one copy of each value, not tied to the file's text. A substring of a big string is a
 * view of it in V8 (a sliced string), so a pod's node name read from a 50 MB file would keep all 50 MB alive for
 * as long as the Cluster lives; a value seen before (a node or namespace name, an image) is also shared. Give the
 * same instance to every document of a file; it may be dropped once the file is read.
 */
export class StringTable {
  private readonly strings = new Map<string, string>();

  /** The kept copy of `s`. */
  get(s: string): string {
    // V8 copies substrings shorter than 13 characters; longer ones are views of the text.
    if (s.length < 13) return s;
    let t = this.strings.get(s);
    if (t === undefined) {
      const copy = Buffer.from(s, 'latin1').toString('latin1');
      t = copy === s ? copy : s; // only Latin-1 text goes through latin1 unchanged
      this.strings.set(t, t);
    }
    return t;
  }
}

/** The value of one document, or FALLBACK. String values go through `strings` when given. */
export function parseBlockDocument(text: string, strings?: StringTable): unknown {
  // Lines without their `\r`, indentation and trailing white space: one substring each (a big file has millions).
  const lines: Line[] = [];
  const n = text.length;
  for (let pos = 0; pos <= n; ) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = n;
    const next = end + 1;
    if (end > pos && text.charCodeAt(end - 1) === 0x0d /* \r */) end--;
    let i = pos;
    while (i < end && text.charCodeAt(i) === 0x20) i++;
    if (i === end || text.charCodeAt(i) === 0x23 /* # */) {
      pos = next;
      continue;
    }
    if (text.charCodeAt(i) === 0x09) return FALLBACK; // a tab in the indentation
    let e = end;
    while (e > i && (text.charCodeAt(e - 1) === 0x20 || text.charCodeAt(e - 1) === 0x09)) e--;
    const content = text.slice(i, e);
    // YAML's white space is space and tab only; a carriage return inside a line is a line break to YAML, and other
    // characters JavaScript counts as white space (\v, \f, Unicode spaces) are content: left to the yaml package.
    if (content.indexOf('\r') >= 0 || content.indexOf('\v') >= 0 || content.indexOf('\f') >= 0) return FALLBACK;
    lines.push({ indent: i - pos, content });
    pos = next;
  }
  if (lines.length === 0) return null;
  try {
    const r = new BlockReader(lines, strings);
    const v = r.node(lines[0]!.indent, 0);
    if (r.at < lines.length) unsupported(); // a line less indented than the document's first
    return v;
  } catch (e) {
    if (e instanceof Unsupported) return FALLBACK;
    throw e;
  }
}

class BlockReader {
  at = 0;
  constructor(
    private readonly lines: Line[],
    private readonly strings: StringTable | undefined,
  ) {}

  private value(s: string): unknown {
    const v = scalar(s);
    return typeof v === 'string' && this.strings ? this.strings.get(v) : v;
  }

  /** The block node whose first line is the current one, at `indent`. */
  node(indent: number, depth: number): unknown {
    if (depth > MAX_DEPTH) unsupported();
    const l = this.lines[this.at]!;
    if (l.indent !== indent) unsupported();
    return isSequenceItem(l.content) ? this.sequence(indent, depth) : this.mapping(indent, depth);
  }

  private sequence(indent: number, depth: number): unknown[] {
    const out: unknown[] = [];
    for (;;) {
      const l = this.lines[this.at];
      if (!l || l.indent < indent) return out;
      if (l.indent > indent) unsupported();
      if (!isSequenceItem(l.content)) return out; // a key of the mapping this sequence is the value of
      let v = 1;
      while (l.content.charCodeAt(v) === 0x20) v++;
      const skip = v - 1;
      const item = l.content.slice(v);
      if (item === '' || item.startsWith('#')) {
        // `-` alone: the item is the block below, or null.
        this.at++;
        const next = this.lines[this.at];
        out.push(next && next.indent > indent ? this.node(next.indent, depth + 1) : null);
      } else if (isSequenceItem(item)) {
        unsupported(); // `- - a`
      } else if (mappingKeyEnd(item) >= 0) {
        // `- key: value`: a mapping whose first key sits after the dash.
        const mapIndent = indent + 1 + skip;
        this.lines[this.at] = { indent: mapIndent, content: item };
        out.push(this.mapping(mapIndent, depth + 1));
      } else {
        this.at++;
        out.push(this.value(item));
        this.noContinuation(indent);
      }
    }
  }

  private mapping(indent: number, depth: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (;;) {
      const l = this.lines[this.at];
      if (!l || l.indent < indent) return out;
      if (l.indent > indent) unsupported();
      if (isSequenceItem(l.content)) {
        // A sequence at the mapping's own indentation ends it only where a parent sequence goes on.
        return out;
      }
      const c = l.content;
      const keyEnd = mappingKeyEnd(c);
      if (keyEnd < 0) unsupported();
      const key = mappingKey(trimWhite(c.slice(0, keyEnd)));
      if (Object.hasOwn(out, key)) unsupported(); // duplicate: the yaml package reports it
      let v = keyEnd + 1;
      while (c.charCodeAt(v) === 0x20) v++;
      const rest = c.slice(v);
      this.at++;
      if (rest === '' || rest.startsWith('#')) {
        const next = this.lines[this.at];
        if (next && next.indent > indent) out[key] = this.node(next.indent, depth + 1);
        else if (next && next.indent === indent && isSequenceItem(next.content))
          out[key] = this.sequence(indent, depth + 1);
        else out[key] = null;
      } else {
        out[key] = this.value(rest);
        this.noContinuation(indent);
      }
    }
  }

  /** A more indented line after a scalar would continue it (a multi-line plain scalar): not taken on. */
  private noContinuation(indent: number): void {
    const next = this.lines[this.at];
    if (next && next.indent > indent) unsupported();
  }
}

function isSequenceItem(c: string): boolean {
  return c.charCodeAt(0) === 0x2d /* - */ && (c.length === 1 || c.charCodeAt(1) === 0x20);
}

/** Where the `:` of `key: value` (or `key:`) is, or -1 when the line is not a mapping entry. */
function mappingKeyEnd(c: string): number {
  const q = c.charCodeAt(0);
  if (q === 0x22 /* " */ || q === 0x27 /* ' */) {
    const close = quotedEnd(c);
    if (close < 0) return -1;
    return c.charCodeAt(close) === 0x3a && (close + 1 === c.length || c.charCodeAt(close + 1) === 0x20) ? close : -1;
  }
  for (let i = 0; i < c.length; i++) {
    const ch = c.charCodeAt(i);
    if (ch === 0x3a /* : */ && (i + 1 === c.length || c.charCodeAt(i + 1) === 0x20)) return i;
    if (ch === 0x23 /* # */ && i > 0 && c.charCodeAt(i - 1) === 0x20) return -1;
  }
  return -1;
}

/** Index just past a quoted scalar at the start of `c`, or -1 when it does not close on this line. */
function quotedEnd(c: string): number {
  const q = c.charCodeAt(0);
  for (let i = 1; i < c.length; i++) {
    const ch = c.charCodeAt(i);
    if (q === 0x27 && ch === 0x27) {
      if (c.charCodeAt(i + 1) === 0x27) i++;
      else return i + 1;
    } else if (q === 0x22 && ch === 0x5c /* \ */) i++;
    else if (q === 0x22 && ch === 0x22) return i + 1;
  }
  return -1;
}

function mappingKey(k: string): string {
  const v = scalar(k);
  // Only keys that are strings as written (`123:` would be the number 123, `null:` null...); `<<` and
  // `__proto__` are left to the yaml package too.
  if (typeof v !== 'string' || v === '<<' || v === '__proto__') unsupported();
  return v;
}

/** `s` without trailing YAML white space (spaces and tabs; String#trimEnd would also take Unicode spaces). */
function trimWhite(s: string): string {
  let e = s.length;
  while (e > 0 && (s.charCodeAt(e - 1) === 0x20 || s.charCodeAt(e - 1) === 0x09)) e--;
  return e === s.length ? s : s.slice(0, e);
}

const JSON_ESCAPES = /\\(?!["\\/bfnrt]|u[0-9a-fA-F]{4})/;

/** A one-line scalar (with an optional trailing comment) as the core schema resolves it. */
function scalar(s: string): unknown {
  const c = s.charCodeAt(0);
  if (c === 0x27 /* ' */ || c === 0x22 /* " */) {
    const end = quotedEnd(s);
    if (end < 0) unsupported(); // continues on the next line
    let a = end;
    while (s.charCodeAt(a) === 0x20 || s.charCodeAt(a) === 0x09) a++;
    const after = s.slice(a);
    if (after !== '' && !after.startsWith('#')) unsupported();
    if (after !== '' && s.charCodeAt(end) !== 0x20) unsupported();
    const body = s.slice(1, end - 1);
    if (c === 0x27) return body.replaceAll("''", "'");
    // Double quotes: JSON's escapes only (YAML's \x, \0, \e, \N, \_, line folding... go to the yaml package).
    if (JSON_ESCAPES.test(body)) unsupported();
    try {
      return JSON.parse(`"${body}"`) as string;
    } catch {
      return unsupported(); // a raw control character, for example
    }
  }
  // A plain scalar ends before ` #`.
  let v = s;
  const hash = s.indexOf(' #');
  if (hash >= 0) v = trimWhite(s.slice(0, hash));
  if (v === '[]') return [];
  if (v === '{}') return {};
  // Indicators a plain scalar cannot start with, and `: ` inside one (a nested mapping: an error in YAML).
  if (/^[[\]{}#&*!|>%@`,]/.test(v) || /^[?:-]( |$)/.test(v) || v.includes(': ') || v.endsWith(':')) unsupported();
  return resolvePlain(v);
}

/** YAML 1.2 core schema resolution of a plain scalar, for the forms this reader takes on. */
function resolvePlain(v: string): unknown {
  switch (v) {
    case '':
    case '~':
    case 'null':
    case 'Null':
    case 'NULL':
      return null;
    case 'true':
    case 'True':
    case 'TRUE':
      return true;
    case 'false':
    case 'False':
    case 'FALSE':
      return false;
  }
  const c = v.charCodeAt(0);
  if ((c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e) {
    // Plain decimal integers the way JSON writes them; every other form the core schema reads as a number
    // (its int, octal, hex, float and exponent patterns: leading zeros or `+`, beyond 2^53, .inf...) goes to
    // the yaml package. Anything else (an address, `1.0.0`, `10h`) is a string.
    if (/^-?(0|[1-9][0-9]{0,14})$/.test(v)) return Number(v);
    if (
      /^[-+]?[0-9]+$/.test(v) ||
      /^0o[0-7]+$/.test(v) ||
      /^0x[0-9a-fA-F]+$/.test(v) ||
      /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/.test(v) ||
      /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/.test(v) ||
      /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(v)
    ) {
      unsupported();
    }
  }
  return v;
}
