/**
 * The scenario catalogue. Names are fixed (they are folder names, CLI arguments and golden file names).
 * Endpoints are looked up by name in the cluster so a user's cluster with the same pods works too.
 */

import { ipv4ToString } from '../../codecs/bytes.js';
import { patchDocuments, withDocuments } from '../cluster/edit.js';
import type { Cluster, Pod, Service } from '../cluster/types.js';
import type { FlowSpec, Source } from '../walk/flow.js';
import { ScenarioUnavailable, type Scenario } from './scenario.js';

function pod(c: Cluster, namespace: string, name: string): Pod {
  const p = c.pods.find((x) => x.namespace === namespace && x.name === name);
  if (!p) throw new ScenarioUnavailable(`pod ${namespace}/${name}`);
  return p;
}

function podPort(p: Pod, fallback: number): number {
  return p.ports[0]?.port ?? fallback;
}

function service(c: Cluster, namespace: string, name: string): Service {
  const s = c.services.find((x) => x.namespace === namespace && x.name === name);
  if (!s) throw new ScenarioUnavailable(`service ${namespace}/${name}`);
  return s;
}

function external(c: Cluster): { ip: number; name: string } {
  const e = c.externalHosts[0];
  if (!e) throw new ScenarioUnavailable('an ExternalHost');
  return e;
}

/** One TCP conversation from `from` to a pod's first container port. */
function tcpToPod(
  from: Source,
  namespace: string,
  name: string,
  fallbackPort: number,
  port?: number,
): (c: Cluster) => FlowSpec[] {
  return (c) => {
    const dst = pod(c, namespace, name);
    return [
      {
        from,
        to: { ip: dst.ip, port: port ?? podPort(dst, fallbackPort) },
        proto: 'tcp',
        toLabel: `${namespace}/${name}`,
      },
    ];
  };
}

/** One TCP conversation from `from` to a service's cluster IP and first port. */
function tcpToService(from: Source, namespace: string, name: string): (c: Cluster) => FlowSpec[] {
  return (c) => {
    const svc = service(c, namespace, name);
    return [
      { from, to: { ip: svc.clusterIP, port: svc.ports[0]!.port }, proto: 'tcp', toLabel: `svc/${namespace}/${name}` },
    ];
  };
}

const SQLAPI = { kind: 'pod', namespace: 'project1', name: 'sqlapi-1-8jgx8' } as const;
const KUARD1 = { kind: 'pod', namespace: 'kuard1', name: 'kuard-amd64-1-qqdqm' } as const;
/** The built-in workers, by the suffix of their ARO names. */
const WORKER_1 = /worker-northeurope1/;
const WORKER_2 = /worker-northeurope2/;

/** Flows from sqlapi to the external host on TCP 443 (the egress scenarios). */
function toExternal(c: Cluster): FlowSpec[] {
  const e = external(c);
  return [{ from: SQLAPI, to: { ip: e.ip, port: 443 }, proto: 'tcp', toLabel: `${e.name} ${ipv4ToString(e.ip)}` }];
}

/** Give namespace project1 an egress IP hosted on the node matching `node` (OpenShift 4 egress IP). */
function egressIpEdit(ip: string, node: RegExp): (docs: readonly object[]) => object[] {
  return (docs) => {
    const host = (docs as { kind?: string; metadata?: { name?: string } }[]).find(
      (d) => d.kind === 'HostSubnet' && node.test(d.metadata?.name ?? ''),
    );
    if (!host) throw new ScenarioUnavailable(`a HostSubnet matching ${node}`);
    return patchDocuments(docs, [
      { kind: 'NetNamespace', metadata: { name: 'project1' }, egressIPs: [ip] },
      { kind: 'HostSubnet', metadata: { name: host.metadata!.name }, egressIPs: [ip] },
    ]);
  };
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'pod-to-pod-same-node',
    figure: 'openshift-sdn-packet-flow fig. 1',
    summary:
      'sqlapi-1-8jgx8 -> kuard-amd64-1-qqdqm:8080, both on worker1: veth -> br0 tables 0/20/27/30/31/70/80 -> veth',
    flows: tcpToPod(SQLAPI, 'kuard1', 'kuard-amd64-1-qqdqm', 8080),
    expect: 'complete',
  },
  {
    name: 'pod-to-pod-cross-node',
    figure: 'openshift-sdn-packet-flow fig. 2',
    summary:
      'sqlapi-1-8jgx8 (worker1) -> server-1-ppl25:1433 (worker3): br0 table 90 -> vxlan0 -> underlay 192.168.0.4 > 192.168.0.5 -> br0 -> veth',
    flows: tcpToPod(SQLAPI, 'project1', 'server-1-ppl25', 1433),
    expect: 'complete',
  },
  {
    name: 'pod-to-service-same-node',
    figure: 'openshift-sdn-packet-flow fig. 3',
    summary:
      'kuard-amd64-1-qqdqm -> svc sqlapi 172.30.82.94:8080 -> sqlapi-1-8jgx8, both on worker1: table 60 -> tun0 -> DNAT -> table 25 -> veth; reply un-DNATed by ct(nat) in table 31',
    flows: tcpToService(KUARD1, 'project1', 'sqlapi'),
    expect: 'complete',
  },
  {
    name: 'pod-to-service-cross-node',
    figure: 'openshift-sdn-packet-flow fig. 4',
    summary:
      'sqlapi-1-8jgx8 (worker1) -> svc server 172.30.72.7:1433 -> server-1-ppl25 (worker3): DNAT on worker1, VXLAN to worker3, reply un-DNATed on worker1',
    flows: tcpToService(SQLAPI, 'project1', 'server'),
    expect: 'complete',
  },
  {
    name: 'egress-node-ip',
    figure: 'openshift-sdn-packet-flow fig. 5',
    summary:
      'sqlapi-1-8jgx8 -> external 203.0.113.10:443: tables 31/99/100/101 -> tun0 -> MASQUERADE to node IP 192.168.0.4 -> eth0; reply de-NATed to the pod',
    flows: toExternal,
    expect: 'complete',
  },
  {
    name: 'egress-ip-local',
    figure: 'openshift-sdn-packet-flow fig. 6',
    summary:
      "project1 egress IP 192.168.0.101 on worker1 (the pod's node): table 101 group -> pkt_mark -> tun0 -> SNAT to 192.168.0.101",
    editDocuments: egressIpEdit('192.168.0.101', WORKER_1),
    flows: toExternal,
    expect: 'complete',
  },
  {
    name: 'egress-ip-remote',
    figure: 'openshift-sdn-packet-flow fig. 6',
    summary:
      'project1 egress IP 192.168.0.100 on worker2: table 101 group -> VXLAN (VNI of project1) to worker2 -> pkt_mark -> tun0 -> SNAT to 192.168.0.100; reply back via VXLAN',
    editDocuments: egressIpEdit('192.168.0.100', WORKER_2),
    flows: toExternal,
    expect: 'complete',
  },
  {
    name: 'egress-router',
    figure: 'openshift-sdn-packet-flow fig. 7',
    summary:
      'sqlapi-1-8jgx8 -> svc egress-router:443 -> egress router pod (worker2) -> DNAT to 203.0.113.10, SNAT to EGRESS_SOURCE 192.168.0.99 on macvlan0',
    editDocuments: (docs) =>
      withDocuments(docs, [
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: {
            namespace: 'project1',
            name: 'egress-router-1',
            labels: { name: 'egress-router' },
            annotations: { 'pod.network.openshift.io/assign-macvlan': 'true' },
          },
          spec: {
            nodeName: nodeNamed(docs, WORKER_2),
            initContainers: [
              {
                name: 'egress-router-setup',
                image: 'registry.redhat.io/openshift4/ose-egress-router',
                securityContext: { privileged: true },
                env: [
                  { name: 'EGRESS_SOURCE', value: '192.168.0.99' },
                  { name: 'EGRESS_GATEWAY', value: '192.168.0.1' },
                  { name: 'EGRESS_DESTINATION', value: '203.0.113.10' },
                  { name: 'EGRESS_ROUTER_MODE', value: 'init' },
                ],
              },
            ],
            containers: [{ name: 'egress-router-wait', image: 'registry.redhat.io/openshift4/ose-pod' }],
          },
        },
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { namespace: 'project1', name: 'egress-router' },
          spec: {
            type: 'ClusterIP',
            clusterIP: '172.30.99.143',
            selector: { name: 'egress-router' },
            ports: [{ name: 'https', protocol: 'TCP', port: 443, targetPort: 443 }],
          },
        },
      ]),
    flows: tcpToService(SQLAPI, 'project1', 'egress-router'),
    expect: 'complete',
  },
  {
    name: 'egress-policy-deny',
    figure: 'openshift-sdn-packet-flow fig. 5 (blocked)',
    summary:
      'EgressNetworkPolicy in project1 denies 203.0.113.0/24: sqlapi-1-8jgx8 -> external is dropped by br0 table 100',
    editDocuments: (docs) =>
      withDocuments(docs, [
        {
          apiVersion: 'network.openshift.io/v1',
          kind: 'EgressNetworkPolicy',
          metadata: { namespace: 'project1', name: 'default' },
          spec: { egress: [{ type: 'Deny', to: { cidrSelector: '203.0.113.0/24' } }] },
        },
      ]),
    flows: toExternal,
    expect: 'blocked',
  },
  {
    name: 'hairpin',
    figure: 'openshift-sdn-packet-flow fig. 3 (hairpin)',
    summary:
      'sqlapi-1-8jgx8 -> svc sqlapi 172.30.82.94:8080 whose endpoint is itself: KUBE-MARK-MASQ, DNAT and MASQUERADE to the tun0 address, back into the same pod',
    flows: tcpToService(SQLAPI, 'project1', 'sqlapi'),
    expect: 'complete',
  },
  {
    name: 'hostnetwork-to-pod',
    figure: 'aro-packet part 1 (hostNetwork pod)',
    summary:
      'hostNetwork pod sqlapi-pod on worker2 (192.168.0.6) -> server-1-ppl25:1433: the node routes via tun0 with source 10.129.2.1, VXLAN with VNI 0',
    flows: tcpToPod({ kind: 'pod', namespace: 'project1', name: 'sqlapi-pod' }, 'project1', 'server-1-ppl25', 1433),
    expect: 'complete',
  },
  {
    name: 'nodeport-ingress',
    figure: 'aro-packet part 1 (LoadBalancer sqlapilb)',
    summary:
      'external host -> sqlapilb at 192.168.0.11:8080 and at NodePort 30039 on worker2: kube-proxy DNAT (and masquerade) to sqlapi-1-8jgx8, and back',
    flows(c): FlowSpec[] {
      const svc = service(c, 'project1', 'sqlapilb');
      const port = svc.ports[0]!;
      const e = external(c);
      const w2 = c.hostSubnets.find((h) => WORKER_2.test(h.name)) ?? c.hostSubnets[0]!;
      const flows: FlowSpec[] = [];
      const lb = svc.externalIPs[0];
      if (lb !== undefined)
        flows.push({
          from: { kind: 'external', name: e.name },
          to: { ip: lb, port: port.port },
          proto: 'tcp',
          toLabel: `sqlapilb ${ipv4ToString(lb)}`,
        });
      if (port.nodePort)
        flows.push({
          from: { kind: 'external', name: e.name },
          to: { ip: w2.hostIP, port: port.nodePort },
          proto: 'tcp',
          toLabel: `NodePort on ${w2.name}`,
        });
      return flows;
    },
    expect: 'complete',
  },
  {
    name: 'networkpolicy-allow',
    figure: 'NetworkPolicy (tables 27/80)',
    summary:
      'deny-by-default in project1 plus a policy allowing sqlapi -> server on TCP 1433: the walk passes table 80 on worker3',
    editDocuments: networkPolicies,
    flows: tcpToPod(SQLAPI, 'project1', 'server-1-ppl25', 1433, 1433),
    expect: 'complete',
  },
  {
    name: 'networkpolicy-deny',
    figure: 'NetworkPolicy (tables 27/80)',
    summary: 'the same policies: kuard-amd64-1-qqdqm (kuard1) -> server-1-ppl25:1433 is dropped by table 80 on worker3',
    editDocuments: networkPolicies,
    flows: tcpToPod(KUARD1, 'project1', 'server-1-ppl25', 1433, 1433),
    expect: 'blocked',
  },
];

function nodeNamed(docs: readonly object[], pattern: RegExp): string {
  const host = (docs as { kind?: string; metadata?: { name?: string } }[]).find(
    (d) => d.kind === 'HostSubnet' && pattern.test(d.metadata?.name ?? ''),
  );
  if (!host?.metadata?.name) throw new ScenarioUnavailable(`a HostSubnet matching ${pattern}`);
  return host.metadata.name;
}

/** Deny-by-default for project1 plus "allow sqlapi -> server on TCP 1433". */
function networkPolicies(docs: readonly object[]): object[] {
  return withDocuments(docs, [
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { namespace: 'project1', name: 'default-deny' },
      spec: { podSelector: {}, policyTypes: ['Ingress'] },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { namespace: 'project1', name: 'allow-sqlapi-to-server' },
      spec: {
        podSelector: { matchLabels: { deploymentconfig: 'server' } },
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [{ podSelector: { matchLabels: { deploymentconfig: 'sqlapi' } } }],
            ports: [{ protocol: 'TCP', port: 1433 }],
          },
        ],
      },
    },
  ]);
}

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
