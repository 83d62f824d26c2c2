/** One way a node's actual state differs from what OpenShift SDN would program, explained in the cluster's terms. */

export type Area = 'flow' | 'group' | 'iptables' | 'route' | 'address';

export interface Difference {
  node: string;
  area: Area;
  kind: 'missing' | 'extra' | 'different';
  /** The cluster-terms explanation (starts with the node name). */
  message: string;
  /** br0: the table and priority of the flow (missing flows: those of the flow a packet falls to instead). */
  table?: number;
  priority?: number;
  /** iptables: `nat KUBE-SEP-...` (the actual chain name when there is one). */
  chain?: string;
  /** The flow/rule/route as the node has it and as SDN would program it. */
  actual?: string;
  expected?: string;
  /** Addresses, pods (ns/name), services (ns/name), namespaces and nodes the difference concerns. */
  subjects: string[];
}
