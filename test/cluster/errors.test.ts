import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/cluster/errors.js';
import { parseClusterDocuments } from '../../src/cluster/load.js';

// A valid little cluster; each case below breaks one thing in it.
const NODE = `kind: HostSubnet
metadata: {name: n1}
host: n1
hostIP: 192.168.0.4
subnet: 10.131.0.0/23
`;
const POD = `kind: Pod
metadata: {namespace: project1, name: sqlapi-1-8jgx8}
spec: {nodeName: n1, containers: [{name: sqlapi}]}
status: {podIP: 10.131.0.40}
`;
const SVC = `kind: Service
metadata: {namespace: project1, name: sqlapi}
spec: {clusterIP: 172.30.82.94, ports: [{port: 8080}]}
`;
const VALID = [NODE, POD, SVC].join('---\n');

function expectError(text: string, message: string, object: string, field: string): void {
  let result: unknown;
  let error: unknown;
  try {
    result = parseClusterDocuments(text, 'cluster.yaml');
  } catch (e) {
    error = e;
  }
  expect(result).toBeUndefined(); // nothing is returned
  expect(error).toBeInstanceOf(ConfigError);
  const e = error as ConfigError;
  expect(e.message).toBe(message);
  expect(e.file).toBe('cluster.yaml');
  expect(e.object).toBe(object);
  expect(e.field).toBe(field);
}

describe('cluster file errors', () => {
  it('accepts the valid base file', () => {
    expect(parseClusterDocuments(VALID, 'cluster.yaml').pods).toHaveLength(1);
  });

  // [case, text, expected message, object, field]
  const cases: [string, string, string, string, string][] = [
    [
      'unknown kind',
      'kind: Deployment\nmetadata: {name: x}\n',
      'cluster.yaml: document 1 (Deployment): kind: unknown kind "Deployment" (expected one of ClusterNetwork, HostSubnet, NetNamespace, EgressNetworkPolicy, Namespace, Pod, Service, Endpoints, NetworkPolicy, Underlay, ExternalHost)',
      'document 1 (Deployment)',
      'kind',
    ],
    [
      'missing kind',
      'metadata: {name: x}\n',
      'cluster.yaml: document 1: kind: required field is missing (expected one of ClusterNetwork, HostSubnet, NetNamespace, EgressNetworkPolicy, Namespace, Pod, Service, Endpoints, NetworkPolicy, Underlay, ExternalHost)',
      'document 1',
      'kind',
    ],
    [
      'unknown top-level field (typo)',
      VALID.replace('hostIP: 192.168.0.4', 'hostIp: 192.168.0.4'),
      'cluster.yaml: HostSubnet n1: hostIp: unknown field (did you mean "hostIP"?)',
      'HostSubnet n1',
      'hostIp',
    ],
    [
      'unknown nested field',
      VALID.replace('spec: {nodeName: n1,', 'spec: {nodeName: n1, hostNetwrok: true,'),
      'cluster.yaml: Pod project1/sqlapi-1-8jgx8: spec.hostNetwrok: unknown field (did you mean "hostNetwork"?)',
      'Pod project1/sqlapi-1-8jgx8',
      'spec.hostNetwrok',
    ],
    [
      'unknown field deep in a list',
      VALID.replace('ports: [{port: 8080}]', 'ports: [{port: 8080, tragetPort: 80}]'),
      'cluster.yaml: Service project1/sqlapi: spec.ports[0].tragetPort: unknown field (did you mean "targetPort"?)',
      'Service project1/sqlapi',
      'spec.ports[0].tragetPort',
    ],
    [
      'missing required field',
      VALID.replace('hostIP: 192.168.0.4\n', ''),
      'cluster.yaml: HostSubnet n1: hostIP: required field is missing (expected an IPv4 address like 192.168.0.4)',
      'HostSubnet n1',
      'hostIP',
    ],
    [
      'missing namespace on a namespaced object',
      VALID.replace('{namespace: project1, name: sqlapi}', '{name: sqlapi}'),
      'cluster.yaml: document 3 (Service): metadata.namespace: required field is missing (expected a DNS-1123 label like project1)',
      'document 3 (Service)',
      'metadata.namespace',
    ],
    [
      'bad IP syntax',
      VALID.replace('podIP: 10.131.0.40', 'podIP: 10.131.0.300'),
      'cluster.yaml: Pod project1/sqlapi-1-8jgx8: status.podIP: "10.131.0.300" is not an IPv4 address (expected a dotted quad like 192.168.0.4)',
      'Pod project1/sqlapi-1-8jgx8',
      'status.podIP',
    ],
    [
      'bad CIDR: host bits set',
      VALID.replace('subnet: 10.131.0.0/23', 'subnet: 10.131.1.0/23'),
      'cluster.yaml: HostSubnet n1: subnet: "10.131.1.0/23" is not an IPv4 CIDR (host bits are set, like 10.128.0.0/14)',
      'HostSubnet n1',
      'subnet',
    ],
    [
      'pod IP outside its node subnet',
      VALID.replace('podIP: 10.131.0.40', 'podIP: 10.200.0.5'),
      "cluster.yaml: Pod project1/sqlapi-1-8jgx8: status.podIP: 10.200.0.5 is not inside node n1's subnet 10.131.0.0/23",
      'Pod project1/sqlapi-1-8jgx8',
      'status.podIP',
    ],
    [
      "pod IP on the node's gateway",
      VALID.replace('podIP: 10.131.0.40', 'podIP: 10.131.0.1'),
      "cluster.yaml: Pod project1/sqlapi-1-8jgx8: status.podIP: 10.131.0.1 is the gateway (tun0) address of node n1's subnet 10.131.0.0/23 (expected .2 or above)",
      'Pod project1/sqlapi-1-8jgx8',
      'status.podIP',
    ],
    [
      'duplicate pod IP',
      `${VALID}---\n${POD.replace('sqlapi-1-8jgx8', 'other')}`,
      'cluster.yaml: Pod project1/other: status.podIP: duplicate IP: 10.131.0.40 is already the IP of Pod project1/sqlapi-1-8jgx8',
      'Pod project1/other',
      'status.podIP',
    ],
    [
      'duplicate names',
      `${VALID}---\n${POD.replace('10.131.0.40', '10.131.0.41')}`,
      'cluster.yaml: Pod project1/sqlapi-1-8jgx8: metadata.name: duplicate name: another Pod named "sqlapi-1-8jgx8" is at document 2',
      'Pod project1/sqlapi-1-8jgx8',
      'metadata.name',
    ],
    [
      'pod on a missing node',
      VALID.replace('nodeName: n1', 'nodeName: n2'),
      'cluster.yaml: Pod project1/sqlapi-1-8jgx8: spec.nodeName: node "n2" does not exist (expected the name of a HostSubnet: n1)',
      'Pod project1/sqlapi-1-8jgx8',
      'spec.nodeName',
    ],
    [
      'host subnet outside the cluster network',
      VALID.replace('subnet: 10.131.0.0/23', 'subnet: 10.140.0.0/23').replace('10.131.0.40', '10.140.0.40'),
      'cluster.yaml: HostSubnet n1: subnet: 10.140.0.0/23 is not inside the cluster network 10.128.0.0/14',
      'HostSubnet n1',
      'subnet',
    ],
    [
      'host subnets overlapping',
      `${VALID}---\n${NODE.replace(/n1/g, 'n2').replace('192.168.0.4', '192.168.0.5')}`,
      'cluster.yaml: HostSubnet n2: subnet: 10.131.0.0/23 overlaps the subnet of HostSubnet n1',
      'HostSubnet n2',
      'subnet',
    ],
    [
      'duplicate host IP',
      `${VALID}---\n${NODE.replace(/n1/g, 'n2').replace('10.131.0.0/23', '10.128.2.0/23')}`,
      'cluster.yaml: HostSubnet n2: hostIP: duplicate IP: 192.168.0.4 is already the hostIP of HostSubnet n1',
      'HostSubnet n2',
      'hostIP',
    ],
    [
      'service IP outside the service network',
      VALID.replace('clusterIP: 172.30.82.94', 'clusterIP: 172.31.82.94'),
      'cluster.yaml: Service project1/sqlapi: spec.clusterIP: 172.31.82.94 is not inside the service network 172.30.0.0/16',
      'Service project1/sqlapi',
      'spec.clusterIP',
    ],
    [
      'hostSubnetLength inconsistent inside the ClusterNetwork',
      `kind: ClusterNetwork
metadata: {name: default}
clusterNetworks: [{CIDR: 10.128.0.0/14, hostSubnetLength: 9}]
hostsubnetlength: 8
serviceNetwork: 172.30.0.0/16
pluginName: redhat/openshift-ovs-subnet
---
${VALID}`,
      'cluster.yaml: ClusterNetwork default: hostsubnetlength: hostSubnetLength inconsistent: 8 here but 9 in clusterNetworks[0].hostSubnetLength',
      'ClusterNetwork default',
      'hostsubnetlength',
    ],
    [
      'host subnet size inconsistent with hostSubnetLength',
      VALID.replace('subnet: 10.131.0.0/23', 'subnet: 10.131.0.0/24'),
      "cluster.yaml: HostSubnet n1: subnet: hostSubnetLength inconsistent: 10.131.0.0/24 is a /24 but the ClusterNetwork's hostSubnetLength 9 gives /23",
      'HostSubnet n1',
      'subnet',
    ],
    [
      'VNID out of range',
      `${VALID}---\nkind: NetNamespace\nmetadata: {name: project1}\nnetname: project1\nnetid: 16777216\n`,
      'cluster.yaml: NetNamespace project1: netid: 16777216 is out of range (expected 0..16777215)',
      'NetNamespace project1',
      'netid',
    ],
    [
      'reserved VNID',
      `${VALID}---\nkind: NetNamespace\nmetadata: {name: project1}\nnetname: project1\nnetid: 5\n`,
      'cluster.yaml: NetNamespace project1: netid: 5 is reserved (expected 0 for a global namespace or 10..16777215)',
      'NetNamespace project1',
      'netid',
    ],
    [
      'EgressNetworkPolicy dnsName rule',
      `${VALID}---\nkind: EgressNetworkPolicy\nmetadata: {namespace: project1, name: default}\nspec:\n  egress:\n  - type: Allow\n    to: {dnsName: www.example.com}\n`,
      'cluster.yaml: EgressNetworkPolicy project1/default: spec.egress[0].to.dnsName: dnsName rules are not supported by packetwalk (it has no DNS resolver; expected cidrSelector)',
      'EgressNetworkPolicy project1/default',
      'spec.egress[0].to.dnsName',
    ],
    [
      'wrong apiVersion',
      VALID.replace('kind: HostSubnet', 'apiVersion: v1\nkind: HostSubnet'),
      'cluster.yaml: document 1 (HostSubnet): apiVersion: "v1" is not the apiVersion of HostSubnet (expected network.openshift.io/v1)',
      'document 1 (HostSubnet)',
      'apiVersion',
    ],
    [
      'label value that YAML reads as a boolean',
      VALID.replace('name: sqlapi-1-8jgx8}', 'name: sqlapi-1-8jgx8, labels: {canary: true}}'),
      'cluster.yaml: Pod project1/sqlapi-1-8jgx8: metadata.labels.canary: expected a string value (quote it), got boolean true',
      'Pod project1/sqlapi-1-8jgx8',
      'metadata.labels.canary',
    ],
    [
      'overlay MTU that does not fit the underlay',
      `kind: ClusterNetwork
metadata: {name: default}
clusterNetworks: [{CIDR: 10.128.0.0/14, hostSubnetLength: 9}]
serviceNetwork: 172.30.0.0/16
pluginName: redhat/openshift-ovs-networkpolicy
mtu: 1500
---
kind: Underlay
cidr: 192.168.0.0/24
mtu: 1500
---
${VALID}`,
      'cluster.yaml: ClusterNetwork default: mtu: overlay MTU 1500 does not match the underlay MTU 1500 minus 50 bytes of VXLAN overhead (expected 1450)',
      'ClusterNetwork default',
      'mtu',
    ],
    [
      'egress router destination line',
      `${VALID}---
kind: Pod
metadata:
  namespace: project1
  name: egress-1
  annotations: {pod.network.openshift.io/assign-macvlan: "true"}
spec:
  nodeName: n1
  containers:
  - name: router
    env:
    - {name: EGRESS_SOURCE, value: 192.168.0.99}
    - {name: EGRESS_GATEWAY, value: 192.168.0.1}
    - {name: EGRESS_DESTINATION, value: "80 sctp 203.0.113.25"}
`,
      'cluster.yaml: Pod project1/egress-1: spec.containers[0].env[2].value: EGRESS_DESTINATION line 1 "80 sctp 203.0.113.25" is not "<ip>", "<port> <tcp|udp> <ip>" or "<port> <tcp|udp> <ip> <port>"',
      'Pod project1/egress-1',
      'spec.containers[0].env[2].value',
    ],
    [
      'endpoints pointing at a pod with another IP',
      `${VALID}---
kind: Endpoints
metadata: {namespace: project1, name: sqlapi}
subsets:
- addresses: [{ip: 10.131.0.41, targetRef: {kind: Pod, name: sqlapi-1-8jgx8}}]
  ports: [{port: 8080}]
`,
      'cluster.yaml: Endpoints project1/sqlapi: subsets[0].addresses[0].ip: 10.131.0.41 is not the IP of Pod project1/sqlapi-1-8jgx8 (10.131.0.40)',
      'Endpoints project1/sqlapi',
      'subsets[0].addresses[0].ip',
    ],
    [
      'node port outside the NodePort range',
      VALID.replace('spec: {clusterIP', 'spec: {type: NodePort, clusterIP').replace(
        'ports: [{port: 8080}]',
        'ports: [{port: 8080, nodePort: 8080}]',
      ),
      'cluster.yaml: Service project1/sqlapi: spec.ports[0].nodePort: 8080 is out of range (expected 30000..32767)',
      'Service project1/sqlapi',
      'spec.ports[0].nodePort',
    ],
    [
      'object in a List without a name',
      'kind: List\nitems:\n- kind: HostSubnet\n  metadata: {}\n  host: n1\n',
      'cluster.yaml: items[0] (HostSubnet): metadata.name: required field is missing (expected a DNS-1123 name like sqlapi-1-8jgx8)',
      'items[0] (HostSubnet)',
      'metadata.name',
    ],
  ];

  it.each(cases)('%s', (_name, text, message, object, field) => {
    expectError(text, message, object, field);
  });

  it('has at least 15 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(15);
  });

  it('reports YAML syntax errors with line and column', () => {
    const text = 'kind: Pod\nmetadata:\n  name: [a, b\nspec: {}\n';
    let e: ConfigError | undefined;
    try {
      parseClusterDocuments(text, 'cluster.yaml');
    } catch (err) {
      e = err as ConfigError;
    }
    expect(e).toBeInstanceOf(ConfigError);
    expect(e!.line).toBe(4);
    expect(e!.column).toBe(1);
    expect(e!.message).toMatch(/^cluster\.yaml:4:1: YAML syntax error: /);
  });

  it('reports duplicate YAML keys as syntax errors', () => {
    expect(() => parseClusterDocuments('kind: Pod\nkind: Pod\n', 'c.yaml')).toThrow(
      /^c\.yaml:2:1: YAML syntax error: Map keys must be unique$/,
    );
  });
});
