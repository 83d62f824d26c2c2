/**
 * The scenario catalogue. Names are fixed (they are folder names, CLI arguments and golden file names).
 * Endpoints are looked up by name in the cluster so a user's cluster with the same pods works too.
 */

import type { Cluster, Pod } from '../cluster/types.js';
import type { FlowSpec } from '../walk/flow.js';
import type { Scenario } from './scenario.js';

function pod(c: Cluster, namespace: string, name: string): Pod {
  const p = c.pods.find((x) => x.namespace === namespace && x.name === name);
  if (!p) throw new Error(`scenario needs pod ${namespace}/${name}, which this cluster does not have`);
  return p;
}

function podPort(p: Pod, fallback: number): number {
  return p.ports[0]?.port ?? fallback;
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'pod-to-pod-same-node',
    figure: 'openshift-sdn-packet-flow fig. 1',
    summary: 'sqlapi-1-8jgx8 -> kuard-amd64-1-qqdqm:8080, both on worker1: veth -> br0 tables 0/20/27/30/31/70/80 -> veth',
    flows(c): FlowSpec[] {
      const dst = pod(c, 'kuard1', 'kuard-amd64-1-qqdqm');
      return [{ from: { kind: 'pod', namespace: 'project1', name: 'sqlapi-1-8jgx8' }, to: { ip: dst.ip, port: podPort(dst, 8080) }, proto: 'tcp', toLabel: 'kuard1/kuard-amd64-1-qqdqm' }];
    },
    expect: 'complete',
  },
  {
    name: 'pod-to-pod-cross-node',
    figure: 'openshift-sdn-packet-flow fig. 2',
    summary: 'sqlapi-1-8jgx8 (worker1) -> server-1-ppl25:1433 (worker3): br0 table 90 -> vxlan0 -> underlay 192.168.0.4 > 192.168.0.5 -> br0 -> veth',
    flows(c): FlowSpec[] {
      const dst = pod(c, 'project1', 'server-1-ppl25');
      return [{ from: { kind: 'pod', namespace: 'project1', name: 'sqlapi-1-8jgx8' }, to: { ip: dst.ip, port: podPort(dst, 1433) }, proto: 'tcp', toLabel: 'project1/server-1-ppl25' }];
    },
    expect: 'complete',
  },
];

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
