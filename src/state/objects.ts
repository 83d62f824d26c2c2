/**
 * The cluster objects of a state directory: every YAML or JSON file anywhere under it, as `oc get -o yaml`,
 * `oc adm inspect` or `oc adm must-gather` write them (single objects, `---` streams, `kind: List` items). The
 * kinds packetwalk knows are kept, everything else is counted and ignored; the same object found in several
 * files (inspect writes a namespace's pods both as a list and one by one) is kept once.
 */

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { SourceObject } from '../cluster/build.js';
import { readClusterObjects } from '../cluster/load.js';
import { KIND_API_VERSIONS } from '../cluster/objects.js';

/** What was found: the objects to build the cluster from and counts for the report. */
export interface StateObjects {
  sources: SourceObject[];
  /** Kept objects per kind. */
  kinds: Map<string, number>;
  /** Ignored objects per kind (Deployments, Events, ...). */
  ignored: Map<string, number>;
  /** Pods left out because they do not hold an address (Succeeded/Failed, not scheduled). */
  skippedPods: string[];
  files: number;
  duplicates: number;
}

const YAML_FILE = /\.(ya?ml|json)$/i;
const KNOWN = new Set(Object.keys(KIND_API_VERSIONS));

/** Every YAML/JSON file under `dir`, sorted (stable object order), leaving out `nodes/` (per-node dumps). */
function listFiles(dir: string, root = dir, out: string[] = []): string[] {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory() || (e.isSymbolicLink() && statSync(p).isDirectory())) {
      if (dir === root && e.name === 'nodes') continue;
      listFiles(p, root, out);
    } else if (YAML_FILE.test(e.name)) out.push(p);
  }
  return out;
}

function meta(doc: Record<string, unknown>): { namespace: string; name: string } {
  const m = (doc.metadata ?? {}) as Record<string, unknown>;
  return {
    namespace: typeof m.namespace === 'string' ? m.namespace : '',
    name: typeof m.name === 'string' ? m.name : '',
  };
}

/** A pod the SDN would not give an address: finished, or not scheduled to a node yet. */
function inactivePod(doc: Record<string, unknown>): string | undefined {
  const status = (doc.status ?? {}) as Record<string, unknown>;
  const spec = (doc.spec ?? {}) as Record<string, unknown>;
  if (status.phase === 'Succeeded' || status.phase === 'Failed') return `phase ${status.phase}`;
  if (typeof spec.nodeName !== 'string' || spec.nodeName === '') return 'not scheduled';
  return undefined;
}

/** `oc adm inspect` writes typed lists (`kind: PodList`, `ServiceList`): their items, like `kind: List`'s. */
function expandTypedLists(objs: SourceObject[]): SourceObject[] {
  const out: SourceObject[] = [];
  for (const o of objs) {
    const d = o.doc as { kind?: unknown; items?: unknown } | null;
    if (d && typeof d === 'object' && typeof d.kind === 'string' && /.List$/.test(d.kind) && Array.isArray(d.items)) {
      for (const [i, doc] of d.items.entries())
        out.push({ doc, position: `${o.position ? `${o.position} ` : ''}items[${i}]` });
    } else out.push(o);
  }
  return out;
}

/** Reads every object under `dir`. YAML syntax errors name the file, line and column (ConfigError). */
export function readStateObjects(dir: string): StateObjects {
  const res: StateObjects = {
    sources: [],
    kinds: new Map(),
    ignored: new Map(),
    skippedPods: [],
    files: 0,
    duplicates: 0,
  };
  const seen = new Set<string>();
  for (const file of listFiles(dir)) {
    const rel = relative(dir, file);
    const text = readFileSync(file, 'utf8');
    res.files++;
    for (const o of expandTypedLists(readClusterObjects(text, rel))) {
      const doc = o.doc as Record<string, unknown> | null;
      const kind = doc && typeof doc === 'object' && typeof doc.kind === 'string' ? doc.kind : '(no kind)';
      if (!KNOWN.has(kind)) {
        res.ignored.set(kind, (res.ignored.get(kind) ?? 0) + 1);
        continue;
      }
      const { namespace, name } = meta(doc!);
      const key = `${kind}/${namespace}/${name}`;
      if (name !== '' && seen.has(key)) {
        res.duplicates++;
        continue;
      }
      seen.add(key);
      if (kind === 'Pod') {
        const why = inactivePod(doc!);
        if (why) {
          res.skippedPods.push(`${namespace}/${name} (${why})`);
          continue;
        }
      }
      res.kinds.set(kind, (res.kinds.get(kind) ?? 0) + 1);
      res.sources.push({ doc, position: `${rel}${o.position ? ` ${o.position}` : ''}` });
    }
  }
  return res;
}
