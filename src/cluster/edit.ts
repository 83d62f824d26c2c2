/**
 * Pure edits of a cluster's documents, so a scenario can start from the built-in cluster and add an egress IP, an
 * EgressNetworkPolicy, a NetworkPolicy or an egress-router pod without touching any other scenario's cluster.
 * Every function returns new arrays of deep copies; its inputs are never changed.
 *
 * Documents are identified as the API server does: kind + metadata.namespace + metadata.name (an Underlay without
 * metadata counts as named "underlay", as in objects.ts).
 */

import { ConfigError } from './errors.js';

type Doc = Record<string, unknown>;

/** `Kind namespace/name` of a document, or undefined when it has no kind or name. */
export function documentKey(doc: object): string | undefined {
  const d = doc as Doc;
  const kind = d.kind;
  const meta = (d.metadata ?? {}) as Doc;
  const name = meta.name ?? (kind === 'Underlay' ? 'underlay' : undefined);
  if (typeof kind !== 'string' || typeof name !== 'string') return undefined;
  const ns = typeof meta.namespace === 'string' ? `${meta.namespace}/` : '';
  return `${kind} ${ns}${name}`;
}

/**
 * `base` with `extra` applied: a document of `extra` replaces the base document with the same kind/namespace/name
 * (keeping its position), otherwise it is appended.
 */
export function withDocuments(base: readonly object[], extra: readonly object[]): object[] {
  const out = base.map((d) => structuredClone(d));
  const index = new Map<string, number>();
  out.forEach((d, i) => {
    const k = documentKey(d);
    if (k !== undefined) index.set(k, i);
  });
  for (const e of extra) {
    const k = documentKey(e);
    const copy = structuredClone(e);
    const at = k === undefined ? undefined : index.get(k);
    if (at !== undefined) out[at] = copy;
    else {
      if (k !== undefined) index.set(k, out.length);
      out.push(copy);
    }
  }
  return out;
}

/** `base` without the documents whose key (`Kind namespace/name`, see documentKey) is listed. */
export function withoutDocuments(base: readonly object[], keys: readonly string[]): object[] {
  const drop = new Set(keys);
  return base.filter((d) => !drop.has(documentKey(d) ?? '')).map((d) => structuredClone(d));
}

/** RFC 7386 JSON merge patch: mappings merge key by key, null deletes a key, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return structuredClone(patch);
  const out: Doc =
    typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Doc) } : {};
  for (const [k, v] of Object.entries(patch as Doc)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/**
 * `base` with merge patches applied (`oc patch --type=merge`). Each patch names its target by kind and
 * metadata.namespace/name, e.g. `{ kind: 'NetNamespace', metadata: { name: 'project1' }, egressIPs: ['192.168.0.100'] }`.
 * A patch whose target does not exist throws a ConfigError, so a scenario cannot silently patch nothing.
 */
export function patchDocuments(base: readonly object[], patches: readonly object[]): object[] {
  const out = base.map((d) => structuredClone(d));
  for (const p of patches) {
    const k = documentKey(p);
    const at = k === undefined ? -1 : out.findIndex((d) => documentKey(d) === k);
    if (at < 0)
      throw new ConfigError(
        '<patch>',
        k ?? 'patch without kind or metadata.name',
        '',
        'no document with this kind, namespace and name to patch',
      );
    out[at] = mergePatch(out[at], p) as object;
  }
  return out;
}
