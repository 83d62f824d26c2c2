/**
 * An OpenShift-sized cluster file, generated deterministically: the built-in ARO cluster's objects (so every
 * scenario still finds its pods and services) plus `nodes` workers in total and `pods` pods in total, written as
 * the YAML `oc get -o yaml` prints (`---` documents: HostSubnets with their subnets, NetNamespaces with their
 * netids, Pods with `status.podIP`, Services with selectors; Endpoints are left to the loader to derive).
 *
 * Shape, OpenShift's tested maximums in mind (2,000 nodes, 150,000 pods, 10,000 services):
 *  - the cluster network grows from the built-in 10.128.0.0/14 to 10.128.0.0/12 (2,048 /23 node subnets; the
 *    built-in six keep theirs) and the underlay from 192.168.0.0/24 to 192.168.0.0/20 (new nodes from 192.168.1.1);
 *  - generated workers `aro2-p8bjm-worker-big-NNNN` (the built-in names keep their short forms in captures);
 *  - generated pods in namespaces `ns-NNNN` of 50 pods, five apps of 10 pods each (`app-0`..`app-4`), spread
 *    round robin over the generated workers, each listening on TCP 8080;
 *  - three ClusterIP services per namespace (`app-0`..`app-2`, port 8080), so 150,000 pods give 9,000 services
 *    with 10 endpoints each, which kube-proxy turns into 9,000 KUBE-SVC and 90,000 KUBE-SEP chains per node.
 *
 * The text is written in chunks (never held whole), so a 50 MB file costs a few MB to make.
 */

import { closeSync, openSync, writeSync } from 'node:fs';
import { stringify } from 'yaml';
import { builtinClusterDocuments } from '../src/cluster/builtin.js';

export interface BigClusterShape {
  /** Nodes in total, the six built-in ones included (at least 7). */
  nodes: number;
  /** Pods in total, the built-in ones included. */
  pods: number;
}

export const PODS_PER_NAMESPACE = 50;
export const APPS_PER_NAMESPACE = 5;
export const SERVICES_PER_NAMESPACE = 3;
export const APP_PORT = 8080;
/** How many nodes and pods the built-in cluster brings. */
const BUILTIN_NODES = 6;

const CLUSTER_NETWORK = '10.128.0.0/12';
const UNDERLAY = '192.168.0.0/20';
/** 10.128.0.0/12 as a number, and the /23 size. */
const CLUSTER_BASE = (10 << 24) | (128 << 16);
const SUBNET_SIZE = 512;
const SUBNETS = 2048;

function quad(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

/** Name of generated worker i (0-based). */
export function bigNodeName(i: number): string {
  return `aro2-p8bjm-worker-big-${String(i).padStart(4, '0')}`;
}

/** Namespace of generated pod i. */
export function bigNamespace(i: number): string {
  return `ns-${String(Math.floor(i / PODS_PER_NAMESPACE)).padStart(4, '0')}`;
}

/** App label of generated pod i. */
export function bigApp(i: number): string {
  return `app-${(i % PODS_PER_NAMESPACE) % APPS_PER_NAMESPACE}`;
}

/** Kubernetes' pod-name suffix alphabet (no vowels, no confusable digits). */
const ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const SUFFIX_SPACE = ALPHABET.length ** 5;

/** Name of generated pod i: `app-2-<5 chars>`, the suffix a bijective scramble of i (unique, stable). */
export function bigPodName(i: number): string {
  let v = (i * 7919 + 12345) % SUFFIX_SPACE; // 7919 is prime to 27^5, so distinct i give distinct suffixes
  let s = '';
  for (let k = 0; k < 5; k++) {
    s += ALPHABET[v % ALPHABET.length];
    v = Math.floor(v / ALPHABET.length);
  }
  return `${bigApp(i)}-${s}`;
}

/** Worker (generated node index) of generated pod i. */
export function bigPodNode(i: number, shape: BigClusterShape): number {
  return i % (shape.nodes - BUILTIN_NODES);
}

/** The built-in objects with the cluster network and underlay widened for the extra nodes. */
function builtinDocuments(): object[] {
  return builtinClusterDocuments().map((d) => {
    const o = d as Record<string, unknown>;
    if (o.kind === 'ClusterNetwork')
      return { ...o, clusterNetworks: [{ CIDR: CLUSTER_NETWORK, hostSubnetLength: 9 }], network: CLUSTER_NETWORK };
    if (o.kind === 'Underlay') return { ...o, cidr: UNDERLAY };
    return o;
  });
}

/** /23 subnets of 10.128.0.0/12 not used by the built-in nodes, in address order. */
function freeSubnets(builtin: object[]): number[] {
  const taken = new Set<number>();
  for (const d of builtin) {
    const o = d as { kind?: string; subnet?: string };
    if (o.kind !== 'HostSubnet' || !o.subnet) continue;
    const [a, b, c] = o.subnet.split(/[./]/).map(Number);
    taken.add(((a! << 24) | (b! << 16) | (c! << 8)) >>> 0);
  }
  const out: number[] = [];
  for (let k = 0; k < SUBNETS; k++) {
    const net = (CLUSTER_BASE + k * SUBNET_SIZE) >>> 0;
    if (!taken.has(net)) out.push(net);
  }
  return out;
}

/**
 * Write the cluster file to `path` and return its size in bytes. Same shape, same bytes: nothing depends on the
 * clock or on randomness.
 */
export function writeBigClusterFile(path: string, shape: BigClusterShape): number {
  const extraNodes = shape.nodes - BUILTIN_NODES;
  const builtin = builtinDocuments();
  const builtinPods = builtin.filter((d) => (d as { kind?: string }).kind === 'Pod').length;
  const extraPods = Math.max(0, shape.pods - builtinPods);
  if (extraNodes < 1) throw new RangeError(`a big cluster needs more than the ${BUILTIN_NODES} built-in nodes`);
  const subnets = freeSubnets(builtin);
  if (extraNodes > subnets.length)
    throw new RangeError(`${shape.nodes} nodes do not fit ${CLUSTER_NETWORK} with /23 node subnets`);
  if (extraNodes > 15 * 250) throw new RangeError(`${shape.nodes} nodes do not fit the ${UNDERLAY} underlay`);
  const perNode = Math.ceil(extraPods / extraNodes);
  if (perNode > SUBNET_SIZE - 3) throw new RangeError(`${perNode} pods per node do not fit a /23`);

  const fd = openSync(path, 'w');
  let size = 0;
  let chunk = '';
  const out = (s: string): void => {
    chunk += s;
    if (chunk.length > 1 << 20) flush();
  };
  const flush = (): void => {
    size += writeSync(fd, chunk);
    chunk = '';
  };
  try {
    out(`# packetwalk big cluster: ${shape.nodes} nodes, ${shape.pods} pods (bench/big-cluster-file.ts)\n`);
    for (const d of builtin) out(`---\n${stringify(d)}`);
    for (let n = 0; n < extraNodes; n++) {
      const name = bigNodeName(n);
      const hostIP = `192.168.${1 + Math.floor(n / 250)}.${1 + (n % 250)}`;
      out(
        `---\napiVersion: network.openshift.io/v1\nkind: HostSubnet\nmetadata:\n  name: ${name}\nhost: ${name}\nhostIP: ${hostIP}\nsubnet: ${quad(subnets[n]!)}/23\n`,
      );
    }
    const namespaces = Math.ceil(extraPods / PODS_PER_NAMESPACE);
    for (let k = 0; k < namespaces; k++) {
      const ns = bigNamespace(k * PODS_PER_NAMESPACE);
      out(
        `---\napiVersion: network.openshift.io/v1\nkind: NetNamespace\nmetadata:\n  name: ${ns}\nnetname: ${ns}\nnetid: ${0x100000 + k}\n`,
      );
    }
    const podsOnNode = new Int32Array(extraNodes);
    for (let i = 0; i < extraPods; i++) {
      const node = bigPodNode(i, shape);
      const ip = subnets[node]! + 2 + podsOnNode[node]!++;
      out(
        `---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: ${bigPodName(i)}\n  namespace: ${bigNamespace(i)}\n  labels:\n    app: ${bigApp(i)}\n` +
          `spec:\n  nodeName: ${bigNodeName(node)}\n  restartPolicy: Always\n  containers:\n  - name: app\n    image: quay.io/packetwalk/app:1.0\n` +
          `    ports:\n    - containerPort: ${APP_PORT}\n      protocol: TCP\nstatus:\n  phase: Running\n  podIP: ${quad(ip)}\n`,
      );
    }
    let svc = 0;
    for (let k = 0; k < namespaces; k++) {
      const ns = bigNamespace(k * PODS_PER_NAMESPACE);
      for (let a = 0; a < SERVICES_PER_NAMESPACE; a++) {
        // 172.30.1.0 upward: clear of the built-in services (172.30.0.x, .72.7, .82.94, .226.18) for 18,000 services.
        const ip = ((172 << 24) | (30 << 16) | (256 + svc++)) >>> 0;
        out(
          `---\napiVersion: v1\nkind: Service\nmetadata:\n  name: app-${a}\n  namespace: ${ns}\nspec:\n  type: ClusterIP\n  clusterIP: ${quad(ip)}\n` +
            `  selector:\n    app: app-${a}\n  ports:\n  - name: http\n    protocol: TCP\n    port: ${APP_PORT}\n    targetPort: ${APP_PORT}\n`,
        );
      }
    }
    flush();
  } finally {
    closeSync(fd);
  }
  return size;
}
