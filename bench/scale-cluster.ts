/**
 * Clusters of any size for the growth sweep, written as the same documents a user's file holds and built by the
 * same loader (src/cluster/build.ts), which allocates what they leave out: node subnets in the SDN master's order
 * and pod IPs by host-local IPAM.
 *
 * Shape: `nodes` HostSubnets on one underlay (192.168.0.0/16), `pods` pods in namespace project1 spread round
 * robin over the nodes. The client pod sits on the first node and the server pod (TCP 1433) on the second, so the
 * measured walk is always pod-to-pod across nodes; every other pod only adds flows, ports and stacks.
 */

import { buildCluster } from '../src/cluster/build.js';
import type { Cluster } from '../src/cluster/types.js';
import type { FlowSpec } from '../src/walk/flow.js';

export interface ScaleShape {
  nodes: number;
  /** Pods in total, client and server included (at least 2). */
  pods: number;
}

export const CLIENT = { namespace: 'project1', name: 'client' } as const;
export const SERVER = { namespace: 'project1', name: 'server' } as const;
export const SERVER_PORT = 1433;

/**
 * The smallest host-subnet size (host bits) that fits `podsPerNode` plus gateway, network and broadcast, at
 * least OpenShift's default of 9 bits (/23).
 */
function hostBitsFor(podsPerNode: number): number {
  let bits = 9;
  while (2 ** bits - 3 < podsPerNode) bits++;
  return bits;
}

function nodeName(i: number): string {
  return `scale-node-${String(i).padStart(4, '0')}`;
}

/** The documents of a cluster of this shape (cluster network 10.0.0.0/8, services 172.30.0.0/16). */
export function scaleClusterDocuments(shape: ScaleShape): object[] {
  const { nodes, pods } = shape;
  if (nodes < 2 || pods < 2) throw new RangeError('a scale cluster needs at least 2 nodes and 2 pods');
  const hostBits = hostBitsFor(Math.ceil(pods / nodes));
  if (nodes > 2 ** (24 - hostBits)) throw new RangeError(`${nodes} nodes of /${32 - hostBits} do not fit 10.0.0.0/8`);
  if (nodes > 250 * 250) throw new RangeError('too many nodes for the 192.168.0.0/16 underlay');
  const docs: object[] = [
    {
      apiVersion: 'network.openshift.io/v1',
      kind: 'ClusterNetwork',
      metadata: { name: 'default' },
      clusterNetworks: [{ CIDR: '10.0.0.0/8', hostSubnetLength: hostBits }],
      hostsubnetlength: hostBits,
      network: '10.0.0.0/8',
      serviceNetwork: '172.30.0.0/16',
      pluginName: 'redhat/openshift-ovs-networkpolicy',
      vxlanPort: 4789,
      mtu: 1450,
    },
    {
      apiVersion: 'packetwalk/v1',
      kind: 'Underlay',
      cidr: '192.168.0.0/16',
      gateway: '192.168.0.1',
      gatewayMac: '12:34:56:78:9a:bc',
      mtu: 1500,
    },
    {
      apiVersion: 'network.openshift.io/v1',
      kind: 'NetNamespace',
      metadata: { name: 'default' },
      netname: 'default',
      netid: 0,
    },
    {
      apiVersion: 'network.openshift.io/v1',
      kind: 'NetNamespace',
      metadata: { name: 'project1' },
      netname: 'project1',
      netid: 5999645,
    },
  ];
  for (let i = 0; i < nodes; i++) {
    const name = nodeName(i);
    const hostIP = `192.168.${1 + Math.floor(i / 250)}.${2 + (i % 250)}`;
    docs.push({ apiVersion: 'network.openshift.io/v1', kind: 'HostSubnet', metadata: { name }, host: name, hostIP });
  }
  const pod = (name: string, node: number, port?: number): object => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      namespace: 'project1',
      name,
      labels: { app: name === CLIENT.name || name === SERVER.name ? name : 'filler' },
    },
    spec: {
      nodeName: nodeName(node),
      containers: [{ name: 'c', ...(port ? { ports: [{ containerPort: port, protocol: 'TCP' }] } : {}) }],
    },
    status: { phase: 'Running' },
  });
  docs.push(pod(CLIENT.name, 0), pod(SERVER.name, 1, SERVER_PORT));
  for (let k = 2; k < pods; k++) docs.push(pod(`filler-${k}`, k % nodes));
  return docs;
}

export function scaleCluster(shape: ScaleShape): Cluster {
  return buildCluster(scaleClusterDocuments(shape), `<scale ${shape.nodes} nodes, ${shape.pods} pods>`);
}

/** The measured conversation: client -> server:1433 over TCP. */
export function scaleFlow(cluster: Cluster): FlowSpec {
  const server = cluster.pods.find((p) => p.namespace === SERVER.namespace && p.name === SERVER.name)!;
  return {
    from: { kind: 'pod', ...CLIENT },
    to: { ip: server.ip, port: SERVER_PORT },
    proto: 'tcp',
    toLabel: 'project1/server',
  };
}
