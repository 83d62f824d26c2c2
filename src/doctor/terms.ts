/**
 * Names in the cluster's own terms for what a flow or rule mentions: a pod IP is `project1/server-1-ppl25`, a
 * subnet is `HostSubnet worker3`, a VNID is `NetNamespace project1`, a tunnel destination is a node.
 */

import { cidrToString, ipv4ToString, type Ipv4Address } from '../../codecs/bytes.js';
import type { Cluster, HostSubnet, Pod, Service } from '../cluster/types.js';

export class Terms {
  private readonly pods = new Map<number, Pod>();
  private readonly nodesByIp = new Map<number, HostSubnet>();
  private readonly nodesBySubnet = new Map<string, HostSubnet>();
  private readonly namespacesByVnid = new Map<number, string[]>();
  readonly vnidOf = new Map<string, number>();
  private readonly servicesByIp = new Map<number, Service>();

  constructor(readonly cluster: Cluster) {
    for (const p of cluster.pods) if (!p.hostNetwork) this.pods.set(p.ip >>> 0, p);
    for (const h of cluster.hostSubnets) {
      this.nodesByIp.set(h.hostIP >>> 0, h);
      this.nodesBySubnet.set(cidrToString(h.subnet), h);
    }
    for (const n of cluster.netNamespaces) {
      this.vnidOf.set(n.name, n.netid);
      const l = this.namespacesByVnid.get(n.netid) ?? [];
      l.push(n.name);
      this.namespacesByVnid.set(n.netid, l);
    }
    for (const s of cluster.services) this.servicesByIp.set(s.clusterIP >>> 0, s);
  }

  pod(ip: Ipv4Address): Pod | undefined {
    return this.pods.get(ip >>> 0);
  }

  nodeByIp(ip: Ipv4Address): HostSubnet | undefined {
    return this.nodesByIp.get(ip >>> 0);
  }

  nodeBySubnet(cidr: string): HostSubnet | undefined {
    return this.nodesBySubnet.get(cidr);
  }

  service(ip: Ipv4Address): Service | undefined {
    return this.servicesByIp.get(ip >>> 0);
  }

  /** `10.128.2.24 (project1/server-1-ppl25)` or the bare address. */
  podText(ip: string): string {
    const p = this.pod(ipOf(ip));
    return p ? `${ip} (${p.namespace}/${p.name})` : ip;
  }

  /** `NetNamespace project1` / `NetNamespaces a, b` / `VNID 123 (no NetNamespace)`. */
  vnidText(vnid: number): string {
    const ns = this.namespacesByVnid.get(vnid);
    if (!ns) return `VNID ${vnid} (no NetNamespace has it)`;
    return ns.length === 1 ? `NetNamespace ${ns[0]}` : `NetNamespaces ${ns.join(', ')}`;
  }

  /** `HostSubnet worker3, 192.168.0.5`. */
  nodeText(h: HostSubnet): string {
    return `HostSubnet ${h.name}, ${ipv4ToString(h.hostIP)}`;
  }

  /** What a tunnel destination is: `worker3 (192.168.0.5)` or `192.168.0.99, no node's hostIP`. */
  tunDstText(ip: string): string {
    const h = this.nodeByIp(ipOf(ip));
    return h ? `${h.name} (${ip})` : `${ip}, which is no HostSubnet's hostIP`;
  }
}

export function ipOf(s: string): number {
  const p = s.split('.').map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

/** A flow match's fields as a record (`ip`, `nw_dst` -> `10.128.2.0/23`, ...), from its OVS text. */
export function matchFields(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const t of text.split(',')) {
    if (!t) continue;
    const eq = t.indexOf('=');
    if (eq < 0) m.set(t, '');
    else m.set(t.slice(0, eq), t.slice(eq + 1));
  }
  return m;
}

/** Values an action list writes: `tun_dst`, `reg0` (VNID), `reg1`, `reg2` (port), `pkt_mark`. */
export function actionValues(actions: string): Map<string, string> {
  const m = new Map<string, string>();
  let r: RegExpExecArray | null;
  const setf = /set_field:([^,]+?)->(\w+)/g;
  while ((r = setf.exec(actions))) m.set(r[2]!, r[1]!);
  const load = /load:(0x[0-9a-f]+|\d+)->NXM_NX_REG(\d)\[\]/g;
  while ((r = load.exec(actions))) m.set(`reg${r[2]}`, String(Number(r[1])));
  const out = /output:(\d+)/.exec(actions);
  if (out) m.set('output', out[1]!);
  return m;
}
