/**
 * The standard walk matrix of a cluster: pod to pod on one node and across every ordered node pair, a pod of
 * every node to every service, every node's pods to the outside (node IP, or the namespace's egress IP), each
 * egress-IP namespace to the outside, and the outside to every NodePort on every node. One client pod per node
 * (the first pod-network pod) and one server pod per node (the first with a port) keep it n² + n·services.
 */

import { ipv4ToString, type Ipv4Address } from '../../codecs/bytes.js';
import type { Cluster, Endpoints, Pod } from '../cluster/types.js';
import type { FlowSpec, Protocol } from '../walk/flow.js';

export type WalkKind = 'pod-to-pod-same-node' | 'pod-to-pod' | 'pod-to-service' | 'egress' | 'egress-ip' | 'nodeport';

export interface MatrixWalk {
  kind: WalkKind;
  label: string;
  spec: FlowSpec;
  /** Nodes, pods, namespaces, services and addresses the walk involves (to find the difference behind a failure). */
  subjects: string[];
  /** The nodes the walk can touch: client and server nodes, a service's endpoint nodes, egress-IP nodes. */
  nodes: string[];
}

function proto(p: 'TCP' | 'UDP'): Protocol {
  return p === 'TCP' ? 'tcp' : 'udp';
}

function plainPod(p: Pod): boolean {
  return !p.hostNetwork && !p.egressRouter;
}

function podSubjects(p: Pod): string[] {
  return [`${p.namespace}/${p.name}`, p.namespace, ipv4ToString(p.ip), p.node];
}

/**
 * The cluster's Endpoints by `namespace/name`, and the nodes holding each one's addresses (pods' nodes, or the
 * node that owns an endpoint's address), found once: a 100-node, 1,000-service matrix asks 100,000 times.
 */
class EndpointIndex {
  private readonly byName = new Map<string, Endpoints>();
  private readonly nodesOf = new Map<string, string[]>();
  private podNode: Map<Ipv4Address, string> | undefined;
  private hostNode: Map<Ipv4Address, string> | undefined;

  constructor(private readonly cluster: Cluster) {
    for (const e of cluster.endpoints) {
      const k = `${e.namespace}/${e.name}`;
      if (!this.byName.has(k)) this.byName.set(k, e);
    }
  }

  get(namespace: string, name: string): Endpoints | undefined {
    return this.byName.get(`${namespace}/${name}`);
  }

  /** Nodes holding a service's endpoints. */
  nodes(namespace: string, name: string): readonly string[] {
    const k = `${namespace}/${name}`;
    let out = this.nodesOf.get(k);
    if (!out) {
      const set = new Set<string>();
      for (const a of this.byName.get(k)?.addresses ?? []) {
        const node = a.node ?? this.podNodeOf(a.ip) ?? this.hostNodeOf(a.ip);
        if (node) set.add(node);
      }
      this.nodesOf.set(k, (out = [...set]));
    }
    return out;
  }

  /** The node of the first pod-network pod with this address (as `pods.find` would pick it). */
  private podNodeOf(ip: Ipv4Address): string | undefined {
    if (!this.podNode) {
      this.podNode = new Map();
      for (const p of this.cluster.pods) if (!p.hostNetwork && !this.podNode.has(p.ip)) this.podNode.set(p.ip, p.node);
    }
    return this.podNode.get(ip);
  }

  private hostNodeOf(ip: Ipv4Address): string | undefined {
    if (!this.hostNode) {
      this.hostNode = new Map();
      for (const h of this.cluster.hostSubnets) if (!this.hostNode.has(h.hostIP)) this.hostNode.set(h.hostIP, h.name);
    }
    return this.hostNode.get(ip);
  }
}

/** Nodes holding a namespace's egress IPs. */
function egressNodes(cluster: Cluster, namespace: string): string[] {
  const ns = cluster.netNamespaces.find((n) => n.name === namespace);
  if (!ns || ns.egressIPs.length === 0) return [];
  return cluster.hostSubnets.filter((h) => h.egressIPs.some((e) => ns.egressIPs.includes(e))).map((h) => h.name);
}

/** The walks; `onlyNode` keeps those that start or end on that node. */
export function standardMatrix(cluster: Cluster, onlyNode?: string): MatrixWalk[] {
  return matrixWalks(cluster, onlyNode).walks;
}

/** The walks `want` kept, and how many walks of each kind the whole matrix has (in the order first met). */
export interface MatrixSelection {
  walks: MatrixWalk[];
  total: number;
  byKind: Record<string, number>;
}

/**
 * The walks of the standard matrix whose nodes `want` keeps (all by default), with the whole matrix's counts. A
 * walk is made (label, flow, subjects) only when wanted: a 100-node, 1,000-service cluster's matrix has 110,000
 * walks, of which doctor walks the few that touch a node whose state differs.
 */
export function matrixWalks(
  cluster: Cluster,
  onlyNode?: string,
  want?: (nodes: readonly string[]) => boolean,
): MatrixSelection {
  const clients = new Map<string, Pod>();
  const servers = new Map<string, Pod[]>();
  for (const p of cluster.pods) {
    if (!plainPod(p)) continue;
    if (!clients.has(p.node)) clients.set(p.node, p);
    if (p.ports.length) {
      const l = servers.get(p.node) ?? [];
      l.push(p);
      servers.set(p.node, l);
    }
  }
  const out: MatrixWalk[] = [];
  const byKind: Record<string, number> = {};
  let total = 0;
  const take = (kind: WalkKind, nodes: readonly string[]): boolean => {
    total++;
    byKind[kind] = (byKind[kind] ?? 0) + 1;
    return want === undefined || want(nodes);
  };
  const eps = new EndpointIndex(cluster);
  const keep = (...nodes: string[]) => onlyNode === undefined || nodes.includes(onlyNode);
  const toPod = (c: Pod, s: Pod, kind: WalkKind): void => {
    const nodes = [c.node, s.node];
    if (!take(kind, nodes)) return;
    const port = s.ports[0]!;
    out.push({
      kind,
      label: `${c.namespace}/${c.name} (${c.node}) -> ${s.namespace}/${s.name} (${s.node}) ${port.protocol.toLowerCase()}/${port.port}`,
      spec: {
        from: { kind: 'pod', namespace: c.namespace, name: c.name },
        to: { ip: s.ip, port: port.port },
        proto: proto(port.protocol),
        toLabel: `${s.namespace}/${s.name}`,
      },
      subjects: [...podSubjects(c), ...podSubjects(s)],
      nodes,
    });
  };
  for (const h of cluster.hostSubnets) {
    const c = clients.get(h.name);
    if (!c) continue;
    for (const g of cluster.hostSubnets) {
      if (!keep(h.name, g.name)) continue;
      const s = (servers.get(g.name) ?? []).find((x) => x !== c);
      if (s) toPod(c, s, h.name === g.name ? 'pod-to-pod-same-node' : 'pod-to-pod');
    }
  }
  // What a walk to each service says about the service, computed once for all client nodes.
  const services = cluster.services.flatMap((svc) => {
    const port = svc.ports[0];
    if (!port) return [];
    const ep = eps.get(svc.namespace, svc.name);
    const ip = ipv4ToString(svc.clusterIP);
    return [
      {
        svc,
        port,
        to: `-> svc/${svc.namespace}/${svc.name} ${ip}:${port.port}`,
        subjects: [
          `${svc.namespace}/${svc.name}`,
          ip,
          ...(ep?.addresses.flatMap((a) => [
            ipv4ToString(a.ip),
            ...(a.pod ? [a.pod] : []),
            ...(a.node ? [a.node] : []),
          ]) ?? []),
        ],
        nodes: eps.nodes(svc.namespace, svc.name),
      },
    ];
  });
  for (const h of cluster.hostSubnets) {
    const c = clients.get(h.name);
    if (!c || !keep(h.name)) continue;
    const from = podSubjects(c);
    for (const { svc, port, to, subjects, nodes: epNodes } of services) {
      const nodes = [h.name, ...epNodes];
      if (!take('pod-to-service', nodes)) continue;
      out.push({
        kind: 'pod-to-service',
        label: `${c.namespace}/${c.name} (${h.name}) ${to}`,
        spec: {
          from: { kind: 'pod', namespace: c.namespace, name: c.name },
          to: { ip: svc.clusterIP, port: port.port },
          proto: proto(port.protocol),
          toLabel: `svc/${svc.namespace}/${svc.name}`,
        },
        subjects: [...from, ...subjects],
        nodes,
      });
    }
  }
  const ext = cluster.externalHosts[0];
  if (ext) {
    for (const h of cluster.hostSubnets) {
      const c = clients.get(h.name);
      if (!c || !keep(h.name)) continue;
      const nodes = [h.name, ...egressNodes(cluster, c.namespace)];
      if (!take('egress', nodes)) continue;
      out.push({
        kind: 'egress',
        label: `${c.namespace}/${c.name} (${h.name}) -> external ${ext.name} ${ipv4ToString(ext.ip)}:443`,
        spec: {
          from: { kind: 'pod', namespace: c.namespace, name: c.name },
          to: { ip: ext.ip, port: 443 },
          proto: 'tcp',
          toLabel: ext.name,
        },
        subjects: [...podSubjects(c), ipv4ToString(ext.ip)],
        nodes,
      });
    }
    for (const ns of cluster.netNamespaces) {
      if (ns.egressIPs.length === 0) continue;
      const c = cluster.pods.find((p) => p.namespace === ns.name && plainPod(p));
      if (
        !c ||
        !keep(
          c.node,
          ...cluster.hostSubnets.filter((h) => h.egressIPs.some((e) => ns.egressIPs.includes(e))).map((h) => h.name),
        )
      )
        continue;
      const holders = cluster.hostSubnets.filter((h) => h.egressIPs.some((e) => ns.egressIPs.includes(e)));
      const nodes = [c.node, ...holders.map((h) => h.name)];
      if (!take('egress-ip', nodes)) continue;
      out.push({
        kind: 'egress-ip',
        label: `${c.namespace}/${c.name} (${c.node}) -> external ${ext.name} via egress IP ${ns.egressIPs.map(ipv4ToString).join(', ')}`,
        spec: {
          from: { kind: 'pod', namespace: c.namespace, name: c.name },
          to: { ip: ext.ip, port: 443 },
          proto: 'tcp',
          toLabel: ext.name,
        },
        subjects: [
          ...podSubjects(c),
          ...ns.egressIPs.map(ipv4ToString),
          ...holders.map((h) => h.name),
          ...holders.map((h) => ipv4ToString(h.hostIP)),
        ],
        nodes,
      });
    }
    for (const svc of cluster.services) {
      for (const port of svc.ports) {
        if (port.nodePort === undefined) continue;
        const ep = eps.get(svc.namespace, svc.name);
        const epSubjects =
          ep?.addresses.flatMap((a) => [ipv4ToString(a.ip), ...(a.pod ? [a.pod] : []), ...(a.node ? [a.node] : [])]) ??
          [];
        for (const h of cluster.hostSubnets) {
          if (!keep(h.name)) continue;
          const nodes = [h.name, ...eps.nodes(svc.namespace, svc.name)];
          if (!take('nodeport', nodes)) continue;
          out.push({
            kind: 'nodeport',
            label: `external ${ext.name} -> ${h.name} ${ipv4ToString(h.hostIP)}:${port.nodePort} (svc/${svc.namespace}/${svc.name})`,
            spec: {
              from: { kind: 'external', name: ext.name },
              to: { ip: h.hostIP, port: port.nodePort },
              proto: proto(port.protocol),
              toLabel: `${h.name}:${port.nodePort}`,
            },
            subjects: [h.name, ipv4ToString(h.hostIP), `${svc.namespace}/${svc.name}`, ...epSubjects],
            nodes,
          });
        }
      }
    }
  }
  return { walks: out, total, byKind };
}
