/**
 * The first difference between two recipes of one key — the stored one and one just recorded from a fresh walk —
 * named so a reader can find the hop: the fast path's audit mode (fast-path.ts) walks every hit and compares, as
 * OVS's revalidators re-translate a datapath flow and compare the actions and xlate cache they get with the
 * installed ones (revalidate_ukey). A difference means some state the walk decided on changed without a
 * ConfigVersion bump or a conntrack guard: a forgotten report to the path observer.
 */

import {
  OP_CAPTURE,
  OP_DEC_TTL_OVS,
  OP_DEC_TTL_STACK,
  OP_ENCAP,
  OP_NAT,
  OP_WINDOW,
  OP_WRITE_BYTES,
  ARGS,
  type PathRecipe,
} from './recipe.js';

const OP_NAMES: Record<number, string> = {
  [OP_WINDOW]: 'window',
  [OP_WRITE_BYTES]: 'write bytes',
  [OP_DEC_TTL_STACK]: 'stack dec_ttl',
  [OP_DEC_TTL_OVS]: 'OVS dec_ttl',
  [OP_NAT]: 'NAT',
  [OP_ENCAP]: 'VXLAN encap',
  [OP_CAPTURE]: 'capture',
};

/** An object as a difference names it: its class and, where it has one, its name or rule text. */
export function describeObject(o: unknown): string {
  if (o === null || typeof o !== 'object') return String(o);
  const x = o as {
    constructor?: { name?: string };
    hopText?: unknown;
    text?: unknown;
    name?: unknown;
    owner?: { name?: unknown };
  };
  const cls = x.constructor?.name ?? 'object';
  const label =
    typeof x.hopText === 'string'
      ? x.hopText
      : typeof x.text === 'string'
        ? x.text
        : typeof x.name === 'string'
          ? x.name
          : undefined;
  const owner = typeof x.owner?.name === 'string' ? `${x.owner.name} ` : '';
  return label !== undefined ? `${cls} ${owner}${label}` : cls;
}

/** A step's object argument as the difference shows it: constant bytes in hex, objects named. */
function refText(ref: unknown): string {
  if (ref === null || ref === undefined) return '';
  if (ref instanceof Uint8Array) return `; ${Buffer.from(ref).toString('hex')}`;
  return `; ${typeof ref === 'string' ? JSON.stringify(ref) : describeObject(ref)}`;
}

function sameRef(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return a.length === b.length && a.every((v, i) => v === b[i]);
  return a === b;
}

/** `what[i]`: the first index where the lists differ, naming both sides; undefined when equal. */
function listDiff(what: string, a: readonly unknown[], b: readonly unknown[]): string | undefined {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (i >= a.length) return `${what}[${i}]: the walk also has ${describeObject(b[i])}`;
    if (i >= b.length) return `${what}[${i}]: the walk no longer has ${describeObject(a[i])}`;
    if (!sameRef(a[i], b[i])) return `${what}[${i}]: recipe ${describeObject(a[i])}, walk ${describeObject(b[i])}`;
  }
  return undefined;
}

/** The first difference between the stored recipe `a` and the fresh one `b`, or undefined when they agree. */
export function recipeDifference(a: PathRecipe, b: PathRecipe): string | undefined {
  return programDifference(a, b, Math.max(a.n, b.n)) ?? sideEffectDifference(a, b);
}

/** The first of the first `n` byte-program steps where `partial` (a walk cut short by a veto) left recipe `a`. */
export function divergence(a: PathRecipe, partial: PathRecipe): string | undefined {
  return programDifference(a, partial, partial.n);
}

function programDifference(a: PathRecipe, b: PathRecipe, n: number): string | undefined {
  for (let i = 0; i < n; i++) {
    const sa = i < a.n ? OP_NAMES[a.ops[i]!] : '(end)',
      sb = i < b.n ? OP_NAMES[b.ops[i]!] : '(end)';
    const argsA = a.args.slice(i * ARGS, i * ARGS + ARGS).join(','),
      argsB = b.args.slice(i * ARGS, i * ARGS + ARGS).join(',');
    if (sa !== sb || argsA !== argsB || !sameRef(a.refs[i], b.refs[i]) || a.refs2[i] !== b.refs2[i]) {
      return `byte program step ${i}: recipe ${sa} (${argsA}${refText(a.refs[i])}), walk ${sb} (${argsB}${refText(b.refs[i])})`;
    }
  }
  return undefined;
}

function sideEffectDifference(a: PathRecipe, b: PathRecipe): string | undefined {
  return (
    listDiff('br0 flow counters', a.ovsRules, b.ovsRules) ??
    listDiff('br0 flow byte counts', a.ovsBytes, b.ovsBytes) ??
    listDiff('iptables rule counters', a.nfRules, b.nfRules) ??
    listDiff('iptables rule byte counts', a.nfRuleBytes, b.nfRuleBytes) ??
    listDiff('iptables policy counters', a.nfChains, b.nfChains) ??
    listDiff('iptables policy byte counts', a.nfChainBytes, b.nfChainBytes) ??
    listDiff('interface tx counters', a.ifTx, b.ifTx) ??
    listDiff('interface rx counters', a.ifRx, b.ifRx) ??
    listDiff('conntrack lookups', a.ctEntries, b.ctEntries) ??
    listDiff('conntrack lookup tables', a.ctTables, b.ctTables) ??
    listDiff('conntrack timeout classes', a.ctClasses, b.ctClasses) ??
    listDiff('conntrack lookup times', a.ctTimes, b.ctTimes) ??
    listDiff('conntrack guards', a.guardEntries, b.guardEntries) ??
    (a.verifyL4 !== b.verifyL4 ? `L4 checksum verification: recipe ${a.verifyL4}, walk ${b.verifyL4}` : undefined) ??
    (a.duration !== b.duration ? `duration: recipe ${a.duration} ns, walk ${b.duration} ns` : undefined) ??
    (a.handoffStack !== b.handoffStack || a.handoffIface !== b.handoffIface || a.handoffL3 !== b.handoffL3
      ? `hand-off: recipe ${describeObject(a.handoffStack)} ${describeObject(a.handoffIface)}, walk ${describeObject(b.handoffStack)} ${describeObject(b.handoffIface)}`
      : undefined) ??
    listDiff('hand-off metadata', Object.values(a.handoffMeta ?? {}), Object.values(b.handoffMeta ?? {}))
  );
}
