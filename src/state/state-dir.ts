/**
 * A state directory: the cluster objects found anywhere under it (objects.ts) and, per node, `nodes/<node>/`
 * with the node's dumps (node-files.ts, read one node at a time when asked). `summary()` says what was found and
 * what a walk needs that was not there (and what packetwalk then assumes).
 */

import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildFromSources } from '../cluster/build.js';
import type { Cluster } from '../cluster/types.js';
import type { FlowSpec } from '../ovs/flow-text.js';
import { readNodeState, RecentMap, RulesetCache, type NodeFileCache, type NodeState } from './node-files.js';
import { readStateObjects, type StateObjects } from './objects.js';
import { StateFileError } from './errors.js';

export interface StateDir {
  dir: string;
  cluster: Cluster;
  objects: StateObjects;
  /** Node folders under `nodes/` (HostSubnet hosts). */
  nodeDirs: string[];
  /** Facts for the report: what is missing and what packetwalk assumes instead. */
  notes: string[];
  /** A node's dumps (parsed on each call: callers keep one node at a time). */
  readNode(node: string): NodeState;
  /**
   * Flows parsed lately by their flowKey (node-files.ts), of the node read last and the one before: what a node's
   * dump has in common with the others' and with what OpenShift SDN would program is parsed once.
   */
  flowSpecs: RecentMap<FlowSpec>;
}

/** Loads the objects under `dir` and lists its node folders. Bad input: ConfigError / StateFileError. */
export function loadStateDir(dir: string): StateDir {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new StateFileError(
      dir,
      'not a directory (expected a state directory: YAML/JSON objects and nodes/<node>/ dumps)',
    );
  const objects = readStateObjects(dir);
  const notes: string[] = [];
  const k = objects.kinds;
  if (!k.get('HostSubnet'))
    throw new StateFileError(
      dir,
      `no HostSubnet found in ${objects.files} YAML/JSON file(s): a walk needs the nodes (oc get hostsubnets -o yaml)`,
    );
  const cluster = buildFromSources(objects.sources, dir);
  if (!k.get('ClusterNetwork'))
    notes.push(
      'no ClusterNetwork: assumed 10.128.0.0/14, host subnets /23, services 172.30.0.0/16, redhat/openshift-ovs-networkpolicy (oc get clusternetwork default -o yaml)',
    );
  if (!k.get('NetNamespace'))
    notes.push('no NetNamespace: VNIDs assumed 10, 11, ... in order of appearance (oc get netnamespaces -o yaml)');
  if (!k.get('Pod')) notes.push('no Pod: no pod-to-pod or pod-to-service walks (oc get pods -A -o yaml)');
  if (!k.get('Underlay'))
    notes.push(
      `no Underlay: node network assumed ${cidrText(cluster.underlay.cidr.network, cluster.underlay.cidr.prefix)} with gateway at its first address, MTU ${cluster.underlay.mtu}`,
    );
  if (k.get('Service') && !k.get('Endpoints'))
    notes.push('no Endpoints: derived from Service selectors (oc get endpoints -A -o yaml)');
  const withoutIp = objects.sources.filter(
    (s) =>
      (s.doc as { kind?: string }).kind === 'Pod' &&
      !(s.doc as { status?: { podIP?: string } }).status?.podIP &&
      !(s.doc as { spec?: { hostNetwork?: boolean } }).spec?.hostNetwork,
  ).length;
  if (withoutIp) notes.push(`${withoutIp} pod(s) without status.podIP: addresses assumed from host-local IPAM order`);
  if (objects.skippedPods.length)
    notes.push(
      `${objects.skippedPods.length} pod(s) left out (finished or not scheduled): ${objects.skippedPods.slice(0, 5).join(', ')}${objects.skippedPods.length > 5 ? ', ...' : ''}`,
    );

  const nodesRoot = join(dir, 'nodes');
  const nodeDirs = existsSync(nodesRoot)
    ? readdirSync(nodesRoot, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort()
    : [];
  const known = new Set(cluster.hostSubnets.map((h) => h.name));
  for (const n of nodeDirs)
    if (!known.has(n))
      throw new StateFileError(
        join('nodes', n),
        `no HostSubnet for node ${JSON.stringify(n)} (folders under nodes/ are named after HostSubnet hosts: ${[...known].slice(0, 6).join(', ')}${known.size > 6 ? ', ...' : ''})`,
      );
  const missing = cluster.hostSubnets.filter((h) => !nodeDirs.includes(h.name)).map((h) => h.name);
  if (missing.length)
    notes.push(
      `no dumps for ${missing.length} node(s) (${missing.slice(0, 4).join(', ')}${missing.length > 4 ? ', ...' : ''}): they walk with what OpenShift SDN would program`,
    );
  const caches: NodeFileCache = { rulesets: new RulesetCache(), flows: new RecentMap() };
  return {
    dir,
    cluster,
    objects,
    nodeDirs,
    notes,
    readNode: (node) => readNodeState(dir, node, caches),
    flowSpecs: caches.flows,
  };
}

function cidrText(net: number, prefix: number): string {
  return `${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.${net & 255}/${prefix}`;
}

/** "Found: 1 ClusterNetwork, 6 HostSubnet, ..." plus the ignored kinds. */
export function foundText(s: StateDir): string {
  const kinds = [...s.objects.kinds].map(([k, n]) => `${n} ${k}`).join(', ');
  const ignored = [...s.objects.ignored].reduce((a, [, n]) => a + n, 0);
  return `${s.objects.files} file(s): ${kinds}${
    ignored
      ? `; ${ignored} other object(s) ignored (${[...s.objects.ignored]
          .slice(0, 6)
          .map(([k, n]) => `${n} ${k}`)
          .join(', ')}${s.objects.ignored.size > 6 ? ', ...' : ''})`
      : ''
  }; node dumps for ${s.nodeDirs.length} node(s)`;
}
