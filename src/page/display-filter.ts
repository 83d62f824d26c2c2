/**
 * A small display-filter language for walk.html, a subset of Wireshark's:
 *
 *   filter  := or
 *   or      := and ( ('||' | 'or') and )*
 *   and     := not ( ('&&' | 'and') not )*
 *   not     := ('!' | 'not') not | '(' or ')' | test
 *   test    := FIELD [ OP VALUE ]        OP: == != < > <= >= contains   (a FIELD alone: the field or protocol is present)
 *   VALUE   := 10.131.0.40 | 10.128.0.0/14 | 0a:58:0a:83:00:28 | 1433 | 0x5b8c1d | "text" | word
 *
 * `ip.addr` matches ip.src or ip.dst, `tcp.port`/`udp.port` either port, `eth.addr` either MAC, as in Wireshark.
 * `a == b` is true when any occurrence of a equals b (both layers of a VXLAN frame count); `a != b` is !(a == b).
 *
 * The page runs this in the browser: `compileDisplayFilter` is inlined into walk.html by its source text, so it
 * must stay self-contained (no imports, no module-level names; everything it uses is declared inside it).
 */

/** A field's values in one frame, by display-filter name (`ip.src` -> ['10.131.0.40', '192.168.0.4']). */
export type FilterFields = Record<string, (string | number)[] | undefined>;

export type CompiledFilter =
  | { ok: true; test: (fields: FilterFields) => boolean }
  | { ok: false; error: string; at: number };

/** Compile `text`; `known` holds every field and protocol name the filter may use. An empty text matches everything. */
export function compileDisplayFilter(text: string, known: readonly string[]): CompiledFilter {
  type Tok = { t: 'word' | 'op' | 'str' | 'lp' | 'rp' | 'and' | 'or' | 'not' | 'end'; v: string; at: number };
  type Node = (f: FilterFields) => boolean;
  const ALIASES: Record<string, string[]> = {
    'ip.addr': ['ip.src', 'ip.dst'],
    'tcp.port': ['tcp.srcport', 'tcp.dstport'],
    'udp.port': ['udp.srcport', 'udp.dstport'],
    'eth.addr': ['eth.src', 'eth.dst'],
    'arp.addr': ['arp.src.proto_ipv4', 'arp.dst.proto_ipv4'],
  };
  const knownSet = new Set<string>(known);
  for (const a of Object.keys(ALIASES)) knownSet.add(a);

  class FilterError {
    constructor(
      readonly message: string,
      readonly at: number,
    ) {}
  }

  function lex(s: string): Tok[] {
    const out: Tok[] = [];
    let i = 0;
    while (i < s.length) {
      const c = s[i]!;
      if (c === ' ' || c === '\t' || c === '\n') {
        i++;
        continue;
      }
      const two = s.slice(i, i + 2);
      if (two === '&&') {
        out.push({ t: 'and', v: two, at: i });
        i += 2;
        continue;
      }
      if (two === '||') {
        out.push({ t: 'or', v: two, at: i });
        i += 2;
        continue;
      }
      if (two === '==' || two === '!=' || two === '<=' || two === '>=') {
        out.push({ t: 'op', v: two, at: i });
        i += 2;
        continue;
      }
      if (c === '<' || c === '>') {
        out.push({ t: 'op', v: c, at: i });
        i++;
        continue;
      }
      if (c === '!') {
        out.push({ t: 'not', v: c, at: i });
        i++;
        continue;
      }
      if (c === '(') {
        out.push({ t: 'lp', v: c, at: i });
        i++;
        continue;
      }
      if (c === ')') {
        out.push({ t: 'rp', v: c, at: i });
        i++;
        continue;
      }
      if (c === '"') {
        const end = s.indexOf('"', i + 1);
        if (end < 0) throw new FilterError('unterminated string', i);
        out.push({ t: 'str', v: s.slice(i + 1, end), at: i });
        i = end + 1;
        continue;
      }
      if (c === '=') throw new FilterError('"=" is not an operator (use "==")', i);
      const m = /^[A-Za-z0-9_.:/-]+/.exec(s.slice(i));
      if (!m) throw new FilterError(`unexpected character "${c}"`, i);
      const w = m[0];
      const lower = w.toLowerCase();
      if (lower === 'and') out.push({ t: 'and', v: w, at: i });
      else if (lower === 'or') out.push({ t: 'or', v: w, at: i });
      else if (lower === 'not') out.push({ t: 'not', v: w, at: i });
      else if (
        lower === 'contains' ||
        lower === 'eq' ||
        lower === 'ne' ||
        lower === 'lt' ||
        lower === 'gt' ||
        lower === 'le' ||
        lower === 'ge'
      ) {
        out.push({
          t: 'op',
          v: (
            { eq: '==', ne: '!=', lt: '<', gt: '>', le: '<=', ge: '>=', contains: 'contains' } as Record<string, string>
          )[lower]!,
          at: i,
        });
      } else out.push({ t: 'word', v: w, at: i });
      i += w.length;
    }
    out.push({ t: 'end', v: '', at: s.length });
    return out;
  }

  function ipToNumber(s: string): number | undefined {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
    if (!m) return undefined;
    const parts = [m[1], m[2], m[3], m[4]].map(Number);
    if (parts.some((p) => p > 255)) return undefined;
    return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
  }

  /** How to compare a field's value with the literal. */
  function valueTest(op: string, lit: Tok): (v: string | number) => boolean {
    const raw = lit.v;
    if (lit.t === 'str' || op === 'contains') {
      const want = raw.toLowerCase();
      if (op === 'contains') return (v) => String(v).toLowerCase().includes(want);
      if (op === '==') return (v) => String(v).toLowerCase() === want;
      if (op === '!=') return (v) => String(v).toLowerCase() === want; // negated by the caller
      throw new FilterError(`"${op}" compares numbers, not text`, lit.at);
    }
    const cidr = /^(\d{1,3}(?:\.\d{1,3}){3})(?:\/(\d{1,2}))?$/.exec(raw);
    if (cidr) {
      const base = ipToNumber(cidr[1]!);
      const prefix = cidr[2] === undefined ? 32 : Number(cidr[2]);
      if (base === undefined || prefix > 32) throw new FilterError(`"${raw}" is not an IPv4 address`, lit.at);
      const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
      const inNet = (v: string | number): boolean => {
        const n = typeof v === 'string' ? ipToNumber(v) : undefined;
        return n !== undefined && (n & mask) >>> 0 === (base & mask) >>> 0;
      };
      if (op === '==' || op === '!=') return inNet;
      const cmp = (v: string | number): number | undefined => {
        const n = typeof v === 'string' ? ipToNumber(v) : undefined;
        return n === undefined ? undefined : n - base;
      };
      return (v) => {
        const d = cmp(v);
        return d !== undefined && (op === '<' ? d < 0 : op === '>' ? d > 0 : op === '<=' ? d <= 0 : d >= 0);
      };
    }
    if (/^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/.test(raw)) {
      if (op !== '==' && op !== '!=') throw new FilterError(`"${op}" does not compare MAC addresses`, lit.at);
      const want = raw.toLowerCase().replace(/-/g, ':');
      return (v) => String(v).toLowerCase() === want;
    }
    const n = /^0x[0-9a-fA-F]+$/.test(raw) ? parseInt(raw.slice(2), 16) : /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (Number.isNaN(n)) {
      if (op !== '==' && op !== '!=') throw new FilterError(`"${raw}" is not a number`, lit.at);
      const want = raw.toLowerCase();
      return (v) => String(v).toLowerCase() === want;
    }
    return (v) => {
      if (typeof v !== 'number') return false;
      switch (op) {
        case '==':
        case '!=':
          return v === n;
        case '<':
          return v < n;
        case '>':
          return v > n;
        case '<=':
          return v <= n;
        default:
          return v >= n;
      }
    };
  }

  function parse(toks: Tok[]): Node {
    let p = 0;
    const peek = (): Tok => toks[p]!;
    const next = (): Tok => toks[p++]!;
    function orExpr(): Node {
      let left = andExpr();
      while (peek().t === 'or') {
        next();
        const a = left,
          b = andExpr();
        left = (f) => a(f) || b(f);
      }
      return left;
    }
    function andExpr(): Node {
      let left = notExpr();
      while (peek().t === 'and') {
        next();
        const a = left,
          b = notExpr();
        left = (f) => a(f) && b(f);
      }
      return left;
    }
    function notExpr(): Node {
      const t = peek();
      if (t.t === 'not') {
        next();
        const inner = notExpr();
        return (f) => !inner(f);
      }
      if (t.t === 'lp') {
        next();
        const inner = orExpr();
        const close = next();
        if (close.t !== 'rp')
          throw new FilterError(close.t === 'end' ? 'missing ")"' : `expected ")" but found "${close.v}"`, close.at);
        return inner;
      }
      return test();
    }
    function test(): Node {
      const t = next();
      if (t.t === 'end') throw new FilterError('expected a field name', t.at);
      if (t.t !== 'word') throw new FilterError(`expected a field name but found "${t.v}"`, t.at);
      const name = t.v.toLowerCase();
      if (!knownSet.has(name)) throw new FilterError(`unknown field or protocol "${t.v}"`, t.at);
      const names = ALIASES[name] ?? [name];
      const values = (f: FilterFields): (string | number)[] => {
        const out: (string | number)[] = [];
        for (const n of names) for (const v of f[n] ?? []) out.push(v);
        return out;
      };
      if (peek().t !== 'op') return (f) => values(f).length > 0;
      const op = next().v;
      const lit = next();
      if (lit.t !== 'word' && lit.t !== 'str')
        throw new FilterError(
          lit.t === 'end' ? `expected a value after "${op}"` : `expected a value but found "${lit.v}"`,
          lit.at,
        );
      const match = valueTest(op, lit);
      if (op === '!=') return (f) => !values(f).some(match);
      return (f) => values(f).some(match);
    }
    const root = orExpr();
    const rest = peek();
    if (rest.t !== 'end') throw new FilterError(`unexpected "${rest.v}"`, rest.at);
    return root;
  }

  if (text.trim() === '') return { ok: true, test: () => true };
  try {
    return { ok: true, test: parse(lex(text)) };
  } catch (e) {
    if (e instanceof FilterError) return { ok: false, error: e.message, at: e.at };
    throw e;
  }
}
