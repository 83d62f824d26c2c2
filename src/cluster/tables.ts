/**
 * `oc get`-style tables of a Cluster, laid out as kubectl's printer does (Go tabwriter: each column as wide as its
 * widest cell plus 3 spaces, at least 6; the last column unpadded), sorted by namespace and name as the API server
 * lists objects. Trailing spaces are trimmed from each line.
 *
 * Columns: hostsubnets and netnamespaces and clusternetwork as their CRD printer columns (openshift/api
 * network/v1), pods as `oc get pods -A -o wide`, services as `oc get svc -A`. Egress lists print as JSON arrays,
 * as 4.x prints array-valued printer columns *(inferred)*. A Cluster has no pod status or ages, so pods show
 * READY 1/1, STATUS Running, RESTARTS 0 and every AGE is 10h (the age of most of the seed article's pods).
 * With `namespace` given, pods and services are that namespace's only and the NAMESPACE column is left out, as
 * `oc get pods -o wide -n <ns>` prints them.
 */

import { cidrToString, ipv4ToString, type Ipv4Address } from '../../codecs/bytes.js';
import { PLUGIN_NAMES, type Cluster, type Service } from './types.js';

export type TableKind = 'hostsubnets' | 'netnamespaces' | 'pods' | 'services' | 'clusternetwork';

export const FIXED_AGE = '10h';

const PADDING = 3;
const MIN_WIDTH = 6;

/** Lays rows out like kubectl's tabwriter (first row is the header). */
export function tabulate(rows: readonly (readonly string[])[]): string {
  // Loops, not Math.max(...rows): spreading 600,000 rows into arguments overflows the call stack.
  let columns = 0;
  for (const r of rows) if (r.length > columns) columns = r.length;
  const widths: number[] = [];
  for (let c = 0; c < columns - 1; c++) {
    let widest = 0;
    for (const r of rows) widest = Math.max(widest, (r[c] ?? '').length);
    widths.push(Math.max(widest + PADDING, MIN_WIDTH));
  }
  return rows
    .map((r) =>
      r
        .map((cell, c) => (c < columns - 1 ? cell.padEnd(widths[c]!) : cell))
        .join('')
        .trimEnd(),
    )
    .join('\n');
}

function jsonList(items: string[]): string {
  return items.length === 0 ? '' : JSON.stringify(items);
}

function byName<T extends { name: string; namespace?: string }>(items: readonly T[]): T[] {
  const key = (x: T): string => `${x.namespace ?? ''}/${x.name}`;
  return [...items].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

function serviceExternalIp(s: Service): string {
  if (s.externalIPs.length > 0) return s.externalIPs.map(ipv4ToString).join(',');
  return s.type === 'LoadBalancer' ? '<pending>' : '<none>';
}

function servicePorts(s: Service): string {
  return s.ports.map((p) => `${p.port}${p.nodePort !== undefined ? `:${p.nodePort}` : ''}/${p.protocol}`).join(',');
}

/** One `oc get` table of the cluster, without a trailing newline. */
export function formatTable(cluster: Cluster, kind: TableKind, options: { namespace?: string } = {}): string {
  const ns = options.namespace;
  const ip = (a: Ipv4Address): string => ipv4ToString(a);
  switch (kind) {
    case 'clusternetwork': {
      const n = cluster.network;
      return tabulate([
        ['NAME', 'CLUSTER NETWORK', 'SERVICE NETWORK', 'PLUGIN NAME'],
        [n.name, cidrToString(n.clusterNetwork), cidrToString(n.serviceNetwork), PLUGIN_NAMES[n.mode]],
      ]);
    }
    case 'hostsubnets':
      return tabulate([
        ['NAME', 'HOST', 'HOST IP', 'SUBNET', 'EGRESS CIDRS', 'EGRESS IPS'],
        ...byName(cluster.hostSubnets).map((h) => [
          h.name,
          h.name,
          ip(h.hostIP),
          cidrToString(h.subnet),
          jsonList(h.egressCIDRs.map(cidrToString)),
          jsonList(h.egressIPs.map(ip)),
        ]),
      ]);
    case 'netnamespaces':
      return tabulate([
        ['NAME', 'NETID', 'EGRESS IPS'],
        ...byName(cluster.netNamespaces).map((n) => [n.name, String(n.netid), jsonList(n.egressIPs.map(ip))]),
      ]);
    case 'pods': {
      const pods = byName(cluster.pods).filter((p) => ns === undefined || p.namespace === ns);
      const rows = [
        ['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'NOMINATED NODE', 'READINESS GATES'],
        ...pods.map((p) => [
          p.namespace,
          p.name,
          '1/1',
          'Running',
          '0',
          FIXED_AGE,
          ip(p.ip),
          p.node,
          '<none>',
          '<none>',
        ]),
      ];
      return tabulate(ns === undefined ? rows : rows.map((r) => r.slice(1)));
    }
    case 'services': {
      const services = byName(cluster.services).filter((s) => ns === undefined || s.namespace === ns);
      const rows = [
        ['NAMESPACE', 'NAME', 'TYPE', 'CLUSTER-IP', 'EXTERNAL-IP', 'PORT(S)', 'AGE'],
        ...services.map((s) => [
          s.namespace,
          s.name,
          s.type,
          ip(s.clusterIP),
          serviceExternalIp(s),
          servicePorts(s),
          FIXED_AGE,
        ]),
      ];
      return tabulate(ns === undefined ? rows : rows.map((r) => r.slice(1)));
    }
  }
}
