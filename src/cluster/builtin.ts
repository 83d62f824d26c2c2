/**
 * The built-in cluster: the Azure Red Hat OpenShift cluster of the seed article "A day in the life of a packet in
 * Azure Redhat Openshift (part 1)" (shared/seeds/aro-packet-part1.txt). It is written as the Kubernetes/OpenShift
 * objects `oc get -o yaml` would print and goes through the same loader as a user's file.
 *
 * From the article: the ClusterNetwork (10.128.0.0/14, hostSubnetLength 9, service network 172.30.0.0/16, MTU 1450,
 * VXLAN 4789, networkpolicy plugin); the six HostSubnets exactly as `oc get hostsubnets` lists them; the project1
 * pods and services (`oc get pod -o wide`, `oc get svc`); the kuard pods and a few system pods of worker 1
 * (`oc get pod -A -o wide`).
 * Chosen for the emulator (real values are random or not in the article): the NetNamespace VNIDs (fixed values
 * >= 10 so captures are reproducible), the Azure-OUI NIC MACs (hashed from node names, derive.ts azureNicMac),
 * pod labels and container ports as `oc new-app` / the operators create them, the dns-default and kubernetes
 * services with their usual addresses, the underlay (the nodes' 192.168.0.0/24 with Azure's gateway at .1) and the
 * external host 203.0.113.10 (TEST-NET-3).
 */

import { buildCluster } from './build.js';
import type { Cluster } from './types.js';

export const BUILTIN_FILE_NAME = '<builtin>';

const MASTER_0 = 'aro2-p8bjm-master-0';
const MASTER_1 = 'aro2-p8bjm-master-1';
const MASTER_2 = 'aro2-p8bjm-master-2';
const WORKER_1 = 'aro2-p8bjm-worker-northeurope1-qt8l7';
const WORKER_2 = 'aro2-p8bjm-worker-northeurope2-rbxzc';
const WORKER_3 = 'aro2-p8bjm-worker-northeurope3-wl4vw';

/** Node names of the built-in cluster, for scenarios. */
export const BUILTIN_NODES = { MASTER_0, MASTER_1, MASTER_2, WORKER_1, WORKER_2, WORKER_3 } as const;

function hostSubnet(name: string, hostIP: string, subnet: string, nicMac: string): object {
  return {
    apiVersion: 'network.openshift.io/v1',
    kind: 'HostSubnet',
    metadata: { name, annotations: { 'packetwalk.io/nic-mac': nicMac } },
    host: name,
    hostIP,
    subnet,
  };
}

function netNamespace(name: string, netid: number): object {
  return { apiVersion: 'network.openshift.io/v1', kind: 'NetNamespace', metadata: { name }, netname: name, netid };
}

interface ContainerSpec {
  name: string;
  ports?: { containerPort: number; protocol?: string; name?: string }[];
}

function pod(
  namespace: string,
  name: string,
  nodeName: string,
  podIP: string,
  labels: Record<string, string>,
  containers: ContainerSpec[],
  hostNetwork = false,
): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { namespace, name, labels },
    spec: { nodeName, ...(hostNetwork ? { hostNetwork: true } : {}), containers },
    status: { phase: 'Running', podIP },
  };
}

function service(namespace: string, name: string, spec: Record<string, unknown>, status?: object): object {
  return { apiVersion: 'v1', kind: 'Service', metadata: { namespace, name }, spec, ...(status ? { status } : {}) };
}

/** The built-in cluster's objects, freshly built on every call (callers may change their copy). */
export function builtinClusterDocuments(): object[] {
  const sqlapiLabels = { app: 'sqlapi', deployment: 'sqlapi-1', deploymentconfig: 'sqlapi' };
  const kuardLabels = { app: 'kuard-amd64', deployment: 'kuard-amd64-1', deploymentconfig: 'kuard-amd64' };
  return [
    {
      apiVersion: 'network.openshift.io/v1',
      kind: 'ClusterNetwork',
      metadata: { name: 'default' },
      clusterNetworks: [{ CIDR: '10.128.0.0/14', hostSubnetLength: 9 }],
      hostsubnetlength: 9,
      network: '10.128.0.0/14',
      serviceNetwork: '172.30.0.0/16',
      pluginName: 'redhat/openshift-ovs-networkpolicy',
      vxlanPort: 4789,
      mtu: 1450,
    },
    {
      apiVersion: 'packetwalk/v1',
      kind: 'Underlay',
      cidr: '192.168.0.0/24',
      gateway: '192.168.0.1',
      gatewayMac: '12:34:56:78:9a:bc',
      mtu: 1500,
    },

    // `oc get hostsubnets`, in the article's order.
    hostSubnet(MASTER_0, '192.168.0.40', '10.129.0.0/23', '00:0d:3a:ac:e8:a8'),
    hostSubnet(MASTER_1, '192.168.0.38', '10.128.0.0/23', '00:0d:3a:12:d8:be'),
    hostSubnet(MASTER_2, '192.168.0.39', '10.130.0.0/23', '00:0d:3a:06:77:d3'),
    hostSubnet(WORKER_1, '192.168.0.4', '10.131.0.0/23', '00:0d:3a:ac:39:9b'),
    hostSubnet(WORKER_2, '192.168.0.6', '10.129.2.0/23', '00:0d:3a:c4:c7:9b'),
    hostSubnet(WORKER_3, '192.168.0.5', '10.128.2.0/23', '00:0d:3a:4d:aa:1d'),

    // VNIDs chosen for the emulator (hex in comments, as traces print them).
    netNamespace('default', 0),
    netNamespace('project1', 5999645), // 0x5b8c1d
    netNamespace('kuard1', 3826128), // 0x3a61d0
    netNamespace('kuard2', 14831385), // 0xe24f19
    netNamespace('openshift-dns', 4983422), // 0x4c0a7e
    netNamespace('openshift-image-registry', 8082881), // 0x7b55c1
    netNamespace('openshift-ingress', 2216946), // 0x21d3f2
    netNamespace('openshift-sdn', 10084532), // 0x99e0b4

    // project1: SQL Server, the API in front of it, and a hostNetwork copy of the API on worker 2.
    pod(
      'project1',
      'server-1-ppl25',
      WORKER_3,
      '10.128.2.24',
      { app: 'server', deployment: 'server-1', deploymentconfig: 'server' },
      [{ name: 'server', ports: [{ containerPort: 1433, protocol: 'TCP' }] }],
    ),
    pod('project1', 'sqlapi-1-8jgx8', WORKER_1, '10.131.0.40', sqlapiLabels, [
      { name: 'sqlapi', ports: [{ containerPort: 8080, protocol: 'TCP' }] },
    ]),
    pod(
      'project1',
      'sqlapi-pod',
      WORKER_2,
      '192.168.0.6',
      { run: 'sqlapi-pod' },
      [{ name: 'sqlapi-pod', ports: [{ containerPort: 8080, protocol: 'TCP' }] }],
      true,
    ),

    pod('kuard1', 'kuard-amd64-1-qqdqm', WORKER_1, '10.131.0.20', kuardLabels, [
      { name: 'kuard-amd64', ports: [{ containerPort: 8080, protocol: 'TCP' }] },
    ]),
    pod('kuard2', 'kuard-amd64-1-vvvlw', WORKER_1, '10.131.0.22', kuardLabels, [
      { name: 'kuard-amd64', ports: [{ containerPort: 8080, protocol: 'TCP' }] },
    ]),

    // Some of worker 1's system pods from the article's `oc get pod -A -o wide`.
    pod(
      'openshift-dns',
      'dns-default-m5wkx',
      WORKER_1,
      '10.131.0.12',
      { 'dns.operator.openshift.io/daemonset-dns': 'default' },
      [
        {
          name: 'dns',
          ports: [
            { name: 'dns', containerPort: 5353, protocol: 'UDP' },
            { name: 'dns-tcp', containerPort: 5353, protocol: 'TCP' },
            { name: 'metrics', containerPort: 9154, protocol: 'TCP' },
          ],
        },
        { name: 'dns-node-resolver' },
      ],
    ),
    pod(
      'openshift-image-registry',
      'image-registry-599645fd69-shsgf',
      WORKER_1,
      '10.131.0.11',
      { 'docker-registry': 'default' },
      [{ name: 'registry', ports: [{ containerPort: 5000, protocol: 'TCP' }] }],
    ),
    pod(
      'openshift-ingress',
      'router-default-cf4d7b6d5-xlkxx',
      WORKER_1,
      '10.131.0.18',
      { 'ingresscontroller.operator.openshift.io/deployment-ingresscontroller': 'default' },
      [
        {
          name: 'router',
          ports: [
            { name: 'http', containerPort: 80 },
            { name: 'https', containerPort: 443 },
            { name: 'metrics', containerPort: 1936 },
          ],
        },
      ],
    ),
    pod('openshift-sdn', 'ovs-frcjl', WORKER_1, '192.168.0.4', { app: 'ovs' }, [{ name: 'openvswitch' }], true),
    pod('openshift-sdn', 'sdn-rlqgc', WORKER_1, '192.168.0.4', { app: 'sdn' }, [{ name: 'sdn' }], true),

    // `oc get svc` in project1.
    service('project1', 'server', {
      type: 'ClusterIP',
      clusterIP: '172.30.72.7',
      selector: { deploymentconfig: 'server' },
      ports: [{ name: '1433-tcp', protocol: 'TCP', port: 1433, targetPort: 1433 }],
    }),
    service('project1', 'sqlapi', {
      type: 'ClusterIP',
      clusterIP: '172.30.82.94',
      selector: { deploymentconfig: 'sqlapi' },
      ports: [{ name: '8080-tcp', protocol: 'TCP', port: 8080, targetPort: 8080 }],
    }),
    service(
      'project1',
      'sqlapilb',
      {
        type: 'LoadBalancer',
        clusterIP: '172.30.226.18',
        selector: { deploymentconfig: 'sqlapi' },
        ports: [{ protocol: 'TCP', port: 8080, targetPort: 8080, nodePort: 30039 }],
        externalTrafficPolicy: 'Cluster',
      },
      { loadBalancer: { ingress: [{ ip: '192.168.0.11' }] } },
    ),
    // The cluster DNS service (always .10 of the service network) and the API service with its master endpoints.
    service('openshift-dns', 'dns-default', {
      clusterIP: '172.30.0.10',
      selector: { 'dns.operator.openshift.io/daemonset-dns': 'default' },
      ports: [
        { name: 'dns', protocol: 'UDP', port: 53, targetPort: 5353 },
        { name: 'dns-tcp', protocol: 'TCP', port: 53, targetPort: 5353 },
        { name: 'metrics', protocol: 'TCP', port: 9154, targetPort: 9154 },
      ],
    }),
    service('default', 'kubernetes', {
      clusterIP: '172.30.0.1',
      ports: [{ name: 'https', protocol: 'TCP', port: 443, targetPort: 6443 }],
    }),
    {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { namespace: 'default', name: 'kubernetes' },
      subsets: [
        {
          addresses: [{ ip: '192.168.0.38' }, { ip: '192.168.0.39' }, { ip: '192.168.0.40' }],
          ports: [{ name: 'https', port: 6443, protocol: 'TCP' }],
        },
      ],
    },

    { apiVersion: 'packetwalk/v1', kind: 'ExternalHost', metadata: { name: 'external' }, ip: '203.0.113.10' },
  ];
}

/** The built-in cluster, validated by the same loader as a user's file (a fresh copy on every call). */
export function builtinCluster(): Cluster {
  return buildCluster(builtinClusterDocuments(), BUILTIN_FILE_NAME);
}
