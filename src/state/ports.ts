/**
 * Pod ofports on a real node: OVS hands them out itself (3, 4, ... and it does not reuse a freed number at once),
 * so a dump's numbers need not be packetwalk's. Table 20's per-pod flows (`in_port=N,ip,nw_src=<pod IP>`, SDN
 * `ovscontroller.go setupPodFlows`) say which port each pod is on; pods without such a flow keep packetwalk's.
 */

import type { Cluster } from '../cluster/types.js';
import { isLocalSdnPod, podKey, type NodePorts } from '../ovs/openshift-context.js';
import { assignPodPorts } from '../ovs/openshift-flows.js';
import { ipv4ToString } from '../../codecs/bytes.js';
import type { StateFlow } from './node-files.js';

/** The node's pod ports as its table 20 flows give them (else packetwalk's assignment). */
export function podPortsFromFlows(cluster: Cluster, node: string, flows: readonly StateFlow[] | undefined): NodePorts {
  const ports = assignPodPorts(cluster, node);
  if (!flows) return ports;
  const byIp = new Map<string, number>();
  for (const f of flows) {
    if (f.spec.table !== 20) continue;
    const m = /(?:^|,)in_port=(\d+)(?:,|$)/.exec(f.spec.match.format());
    const ip = /(?:^|,)(?:nw_src|arp_spa)=([\d.]+)(?:,|$)/.exec(f.spec.match.format());
    if (m && ip) byIp.set(ip[1]!, +m[1]!);
  }
  const used = new Set<number>();
  const pods = new Map<string, number>();
  for (const p of cluster.pods) {
    if (!isLocalSdnPod(p, node)) continue;
    const port = byIp.get(ipv4ToString(p.ip));
    if (port !== undefined && !used.has(port)) {
      pods.set(podKey(p), port);
      used.add(port);
    }
  }
  // Pods the dump has no flow for keep packetwalk's number unless that is taken; then the next free one.
  let next = Math.max(2, ...used) + 1;
  for (const [key, port] of ports.pods) {
    if (pods.has(key)) continue;
    let p = port;
    if (used.has(p)) p = next++;
    pods.set(key, p);
    used.add(p);
  }
  return { ...ports, pods };
}
