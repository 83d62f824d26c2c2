/**
 * diffState: walk two object graphs in parallel and list where they differ, as paths a reader can follow
 * (`nodes.get("aro2-...").bridge.tables[90].classifier.subtables[2].buckets.get(-1482655029)[0].nPackets: 11 != 12`).
 *
 * What is compared:
 *  - numbers with Object.is (NaN equals NaN, 0 differs from -0), strings, booleans, bigints, null, undefined;
 *  - plain objects and class instances by their own enumerable string keys (an absent key equals `undefined`,
 *    as `JSON.stringify` would see it) and by prototype (an instance of another class is a difference);
 *  - arrays by length and element; Maps and Sets in insertion order (keys compared like values);
 *  - typed arrays, Buffers, DataViews and ArrayBuffers by their bytes (only the view's window);
 *  - Dates by time, RegExps by source text. Functions, symbols, WeakMaps and WeakSets are ignored.
 * The two graphs must also have the same sharing: when a's object X is reached twice, b's counterpart must be
 * the same object both times (and the other way round). Visited pairs are not walked again, so cycles end.
 * The walk is breadth first with its own queue (deep linked lists would overflow the call stack), so a path names
 * each object by its shortest route; path strings are built only for the differences reported.
 */

export interface DiffOptions {
  /**
   * Properties never compared (scratch and cache fields that legitimately differ): `name` skips that property of
   * every object at any depth; `Class.name` only on instances of the class with that constructor name.
   */
  skipKeys?: ReadonlySet<string>;
  /** Stop after this many differences (default 20). */
  maxDiffs?: number;
}

const enum Seg {
  Root,
  Prop,
  Index,
  MapKey,
  MapValue,
  SetItem,
}

/** One step of the walk: a pair of objects and how it was reached (for the path of a later difference). */
interface Step {
  a: object;
  b: object;
  parent: Step | null;
  seg: Seg;
  /** Property name, array index, or Map/Set position. */
  key: string | number;
  /** For Map values: the key as the path prints it. */
  label: string;
}

const IDENT = /^[A-Za-z_$][\w$]*$/;
const EMPTY: ReadonlySet<string> = new Set<string>();

/** The differences between `a` and `b` (empty when equal), at most `maxDiffs` of them. */
export function diffState(a: unknown, b: unknown, opts: DiffOptions = {}): string[] {
  const skipAny = new Set<string>();
  const skipIn = new Map<string, Set<string>>();
  for (const k of opts.skipKeys ?? EMPTY) {
    const dot = k.indexOf('.');
    if (dot < 0) skipAny.add(k);
    else {
      const cls = k.slice(0, dot);
      let set = skipIn.get(cls);
      if (!set) skipIn.set(cls, (set = new Set()));
      set.add(k.slice(dot + 1));
    }
  }
  // Skipped names per prototype, resolved once per class.
  const skipByProto = new Map<object | null, ReadonlySet<string>>();
  const skipFor = (proto: object | null): ReadonlySet<string> => {
    let set = skipByProto.get(proto);
    if (!set) {
      const name = proto === null ? '' : ((proto as { constructor?: { name?: string } }).constructor?.name ?? '');
      const own = skipIn.get(name);
      set = own ? new Set([...skipAny, ...own]) : skipAny;
      skipByProto.set(proto, set);
    }
    return set;
  };
  const max = opts.maxDiffs ?? 20;
  const diffs: string[] = [];
  // First step that reached each object, per side: the counterpart must agree every later time.
  const seenA = new Map<object, Step>();
  const seenB = new Map<object, Step>();
  // Breadth first, so each object is first reached (and named in paths) by its shortest path.
  const queue: Step[] = [];
  let head = 0;

  const report = (parent: Step | null, seg: Seg, key: string | number, label: string, what: string): void => {
    if (diffs.length < max) diffs.push(`${pathOf(parent, seg, key, label)}: ${what}`);
  };

  /** Compare one pair of values reached from `parent` by (seg, key); objects are queued, not walked here. */
  const visit = (x: unknown, y: unknown, parent: Step | null, seg: Seg, key: string | number, label: string): void => {
    const tx = kindOf(x),
      ty = kindOf(y);
    if (tx !== ty) return report(parent, seg, key, label, `${show(x)} != ${show(y)}`);
    if (tx === 'function' || tx === 'symbol') return;
    if (tx !== 'object') {
      if (!Object.is(x, y)) report(parent, seg, key, label, `${show(x)} != ${show(y)}`);
      return;
    }
    const ox = x as object,
      oy = y as object;
    const firstA = seenA.get(ox),
      firstB = seenB.get(oy);
    if (firstA || firstB) {
      if (firstA && firstA.b !== oy)
        report(
          parent,
          seg,
          key,
          label,
          `a's object here is the one at ${pathOf(firstA.parent, firstA.seg, firstA.key, firstA.label)}, b's is not`,
        );
      else if (firstB && firstB.a !== ox)
        report(
          parent,
          seg,
          key,
          label,
          `b's object here is the one at ${pathOf(firstB.parent, firstB.seg, firstB.key, firstB.label)}, a's is not`,
        );
      return;
    }
    const s: Step = { a: ox, b: oy, parent, seg, key, label };
    seenA.set(ox, s);
    seenB.set(oy, s);
    // The very same object on both sides (a shared module constant) is equal by definition: not walked.
    if (ox !== oy) queue.push(s);
  };

  visit(a, b, null, Seg.Root, '', '');
  while (head < queue.length && diffs.length < max) {
    const s = queue[head++]!;
    const x = s.a as Record<string, unknown>,
      y = s.b as Record<string, unknown>;
    const proto = Object.getPrototypeOf(x) as object | null;
    if (proto !== Object.getPrototypeOf(y)) {
      report(s, Seg.Root, '', '', `${typeName(x)} != ${typeName(y)}`);
      continue;
    }
    if (ArrayBuffer.isView(x) || x instanceof ArrayBuffer) {
      const d = diffBytes(x as unknown as ArrayBufferView | ArrayBuffer, y as unknown as ArrayBufferView | ArrayBuffer);
      if (d) report(s, d.seg, d.at, '', d.what);
      continue;
    }
    if (x instanceof Date) {
      if (x.getTime() !== (y as unknown as Date).getTime())
        report(s, Seg.Root, '', '', `${x.toISOString()} != ${(y as unknown as Date).toISOString()}`);
      continue;
    }
    if (x instanceof RegExp) {
      if (String(x) !== String(y)) report(s, Seg.Root, '', '', `${String(x)} != ${String(y)}`);
      continue;
    }
    if (x instanceof WeakMap || x instanceof WeakSet || x instanceof Promise) continue;
    if (x instanceof Map) {
      const my = y as unknown as Map<unknown, unknown>;
      if (x.size !== my.size) report(s, Seg.Root, '', '', `Map of ${x.size} != Map of ${my.size}`);
      const ia = x.entries(),
        ib = my.entries();
      for (let i = 0; ; i++) {
        const ea = ia.next(),
          eb = ib.next();
        if (ea.done || eb.done) break;
        const [ka, va] = ea.value as [unknown, unknown];
        const [kb, vb] = eb.value as [unknown, unknown];
        visit(ka, kb, s, Seg.MapKey, i, '');
        visit(va, vb, s, Seg.MapValue, i, keyLabel(ka, i));
      }
    } else if (x instanceof Set) {
      const sy = y as unknown as Set<unknown>;
      if (x.size !== sy.size) report(s, Seg.Root, '', '', `Set of ${x.size} != Set of ${sy.size}`);
      const ia = x.values(),
        ib = sy.values();
      for (let i = 0; ; i++) {
        const ea = ia.next(),
          eb = ib.next();
        if (ea.done || eb.done) break;
        visit(ea.value, eb.value, s, Seg.SetItem, i, '');
      }
    } else if (Array.isArray(x)) {
      const ay = y as unknown as unknown[];
      if (x.length !== ay.length) report(s, Seg.Root, '', '', `array of ${x.length} != array of ${ay.length}`);
      const n = Math.min(x.length, ay.length);
      for (let i = 0; i < n; i++) visit(x[i], ay[i], s, Seg.Index, i, '');
      // Named properties an array may carry besides its elements are not compared (none here use them).
    } else {
      const skip = skipFor(proto);
      const ka = Object.keys(x);
      let shared = 0;
      for (const k of ka) {
        if (Object.hasOwn(y, k)) shared++;
        if (skip.has(k)) continue;
        visit(x[k], y[k], s, Seg.Prop, k, '');
      }
      const kb = Object.keys(y);
      if (shared !== kb.length) {
        for (const k of kb) if (!Object.hasOwn(x, k) && !skip.has(k)) visit(undefined, y[k], s, Seg.Prop, k, '');
      }
    }
  }
  return diffs;
}

type Kind = 'object' | 'function' | 'symbol' | 'number' | 'string' | 'boolean' | 'bigint' | 'undefined' | 'null';

function kindOf(v: unknown): Kind {
  return v === null ? 'null' : typeof v;
}

/** Where two binary objects of the same class first differ, or undefined when their bytes are equal. */
function diffBytes(
  x: ArrayBufferView | ArrayBuffer,
  y: ArrayBufferView | ArrayBuffer,
): { seg: Seg; at: number; what: string } | undefined {
  // Small typed arrays (flow keys, tuples) element by element: no Buffer wrappers to allocate.
  if (!(x instanceof DataView) && !(x instanceof ArrayBuffer) && x.byteLength <= 256) {
    const ex = x as unknown as ArrayLike<number>,
      ey = y as unknown as ArrayLike<number>;
    if (ex.length !== ey.length)
      return { seg: Seg.Root, at: 0, what: `${x.byteLength} bytes != ${y.byteLength} bytes` };
    for (let i = 0; i < ex.length; i++)
      if (!Object.is(ex[i], ey[i])) return { seg: Seg.Index, at: i, what: `${show(ex[i])} != ${show(ey[i])}` };
    return undefined;
  }
  const bx = bytesOf(x),
    by = bytesOf(y);
  if (bx.length !== by.length) return { seg: Seg.Root, at: 0, what: `${bx.length} bytes != ${by.length} bytes` };
  if (bx.equals(by)) return undefined;
  let i = 0;
  while (bx[i] === by[i]) i++;
  const el = 'BYTES_PER_ELEMENT' in x ? (x as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT : 1;
  if (el === 1) return { seg: Seg.Index, at: i, what: `${bx[i]} != ${by[i]}` };
  const at = Math.floor(i / el);
  return {
    seg: Seg.Index,
    at,
    what: `${show((x as unknown as ArrayLike<unknown>)[at])} != ${show((y as unknown as ArrayLike<unknown>)[at])}`,
  };
}

function bytesOf(v: ArrayBufferView | ArrayBuffer): Buffer {
  return v instanceof ArrayBuffer ? Buffer.from(v) : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

function typeName(o: object): string {
  const p = Object.getPrototypeOf(o) as { constructor?: { name?: string } } | null;
  return p === null
    ? 'null-prototype object'
    : p === Object.prototype
      ? 'plain object'
      : `instance of ${p.constructor?.name || '(anonymous class)'}`;
}

/** A value as a difference prints it: strings quoted and cut at 60 characters, objects by their class. */
function show(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
    case 'bigint':
      return `${v}n`;
    case 'number':
      return Object.is(v, -0) ? '-0' : String(v);
    case 'object':
      return v === null ? 'null' : Array.isArray(v) ? `array of ${v.length}` : typeName(v);
    case 'function':
      return 'function';
    default:
      return String(v);
  }
}

/** A Map key as the path prints it: `"name"`, `42`, or `#3` (the entry's position) for an object key. */
function keyLabel(k: unknown, position: number): string {
  return typeof k === 'string'
    ? JSON.stringify(k)
    : typeof k === 'number' || typeof k === 'boolean' || k === null || k === undefined
      ? String(k)
      : typeof k === 'bigint'
        ? `${k}n`
        : `#${position}`;
}

function segText(seg: Seg, key: string | number, label: string): string {
  switch (seg) {
    case Seg.Root:
      return '';
    case Seg.Prop:
      return typeof key === 'string' && IDENT.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
    case Seg.Index:
      return `[${key}]`;
    case Seg.MapKey:
      return `.keys()[${key}]`;
    case Seg.MapValue:
      return `.get(${label})`;
    case Seg.SetItem:
      return `.values()[${key}]`;
  }
}

function pathOf(parent: Step | null, seg: Seg, key: string | number, label: string): string {
  const parts = [segText(seg, key, label)];
  for (let s = parent; s; s = s.parent) parts.push(segText(s.seg, s.key, s.label));
  const p = parts.reverse().join('');
  return p === '' ? '(root)' : p.startsWith('.') ? p.slice(1) : p;
}
