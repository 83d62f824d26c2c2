/**
 * From a list of Kubernetes/OpenShift-shaped objects to a validated, complete Cluster: cross-object rules,
 * defaults and the addresses a real cluster would allocate. Either a whole Cluster comes back or a ConfigError is
 * thrown; nothing is half-built.
 *
 * Defaults and derivations (each with where it comes from):
 *  - No ClusterNetwork: the 4.x CNO defaults 10.128.0.0/14, hostSubnetLength 9, service network 172.30.0.0/16,
 *    plugin redhat/openshift-ovs-networkpolicy, VXLAN port 4789.
 *  - HostSubnet without `subnet`: the SDN master's allocator order (allocate.ts), after the given subnets.
 *  - Pod without `status.podIP`: host-local IPAM in its node's subnet from .2 upward (allocate.ts), after the given
 *    addresses, in file order. hostNetwork pods have the node's hostIP and NIC MAC.
 *  - Pod MAC 0a:58:<ip> (derive.ts podMac); node NIC / tun0 / macvlan MACs and missing uids hashed from names.
 *  - NetNamespace for every namespace an object uses that has none (plus `default`): `default` gets VNID 0, the
 *    others 10, 11, ... in the order the namespaces first appear in the file, skipping VNIDs already taken. Real
 *    OpenShift picks them at random from 10..2^24-1; packetwalk wants reproducible captures.
 *  - Endpoints for a Service with a selector and no Endpoints object: every pod of the namespace whose labels match,
 *    sorted by IP (as the endpoints controller stores them), ports = the service's target ports.
 *  - Egress IPs of NetNamespaces that no HostSubnet lists go to the HostSubnet whose egressCIDRs contain them and
 *    that hosts the fewest egress IPs (first in file order on a tie), as the SDN master's automatic assignment does.
 *    An egress IP no node can host stays unassigned: the data path then drops that namespace's external traffic.
 *  - No Underlay: the smallest network of prefix /24 or shorter holding every hostIP, gateway = its first address,
 *    gateway MAC 12:34:56:78:9a:bc (Azure), MTU = ClusterNetwork mtu + 50, else 1500.
 */

import {
  cidr,
  cidrContains,
  cidrToString,
  ipv4ToString,
  prefixMask,
  tryParseIpv4,
  type Ipv4Address,
  type Ipv4Cidr,
} from '../../codecs/bytes.js';
import { HostLocalIpam, HostSubnetAllocator } from './allocate.js';
import { AZURE_GATEWAY_MAC, hashedMac, hashedUid, podMac } from './derive.js';
import { ConfigError } from './errors.js';
import {
  ANNOTATION_MACVLAN,
  ANNOTATION_MULTICAST,
  MIN_ALLOCATED_VNID,
  objectLabel,
  readObject,
  type AnyDoc,
  type ContainerDoc,
  type Kind,
  type ObjectBase,
  type PodDoc,
} from './objects.js';
import {
  PLUGIN_NAMES,
  type Cluster,
  type ClusterNetwork,
  type EgressNetworkPolicy,
  type EgressRouterConfig,
  type EndpointAddress,
  type Endpoints,
  type ExternalHost,
  type HostSubnet,
  type NetNamespace,
  type NetworkPolicy,
  type PluginMode,
  type Pod,
  type Service,
  type Underlay,
} from './types.js';

/** One object of a file and where it sits (`document 2`, `items[3]`), for error messages. */
export interface SourceObject {
  doc: unknown;
  position: string;
}

/** The Kubernetes NodePort range (kube-apiserver `--service-node-port-range` default). */
export const NODE_PORT_MIN = 30000;
export const NODE_PORT_MAX = 32767;

/** Label every namespace carries since Kubernetes 1.21 (used by namespaceSelector rules). */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

const DEFAULT_NETWORK = {
  cidr: cidr('10.128.0.0/14'),
  hostSubnetLength: 9,
  serviceNetwork: cidr('172.30.0.0/16'),
  mode: 'networkpolicy' as PluginMode,
  vxlanPort: 4789,
};

/** Builds a Cluster from plain objects (e.g. the built-in documents); errors name objects by index `[i]`. */
export function buildCluster(docs: readonly object[], fileName: string): Cluster {
  return buildFromSources(
    docs.map((doc, i) => ({ doc, position: `[${i}]` })),
    fileName,
  );
}

function overlaps(a: Ipv4Cidr, b: Ipv4Cidr): boolean {
  return cidrContains(a, b.network) || cidrContains(b, a.network);
}

function broadcastOf(c: Ipv4Cidr): number {
  return (c.network | ~c.mask) >>> 0;
}

function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  for (const k in selector) if (labels[k] !== selector[k]) return false;
  return true;
}

function ofKind<K extends Kind>(objs: AnyDoc[], kind: K): Extract<AnyDoc, { kind: K }>[] {
  return objs.filter((o): o is Extract<AnyDoc, { kind: K }> => o.kind === kind);
}

/** Builds a Cluster from the objects of one file. */
export function buildFromSources(sources: readonly SourceObject[], file: string): Cluster {
  return buildFromObjects(
    sources.map((s) => readObject(file, s.position, s.doc)),
    file,
  );
}

/** Builds a Cluster from objects already read (readObject), in file order. */
export function buildFromObjects(objs: AnyDoc[], file: string): Cluster {
  // Duplicate names: two objects of one kind with the same namespace/name.
  const byKey = new Map<string, ObjectBase>();
  for (const o of objs) {
    const key = objectLabel(o.kind, o.namespace, o.name);
    const other = byKey.get(key);
    if (other)
      o.f.fail(
        'metadata.name',
        `duplicate name: another ${o.kind} named ${JSON.stringify(o.name)} is at ${other.position}`,
      );
    byKey.set(key, o);
  }
  for (const kind of ['ClusterNetwork', 'Underlay'] as const) {
    const all = ofKind(objs, kind);
    if (all.length > 1)
      all[1]!.f.fail(undefined, `a second ${kind} (the first is at ${all[0]!.position}; expected one)`);
  }

  const draft = buildNetwork(objs);
  const hostSubnets = buildHostSubnets(objs, draft.network);
  const underlay = buildUnderlay(objs, draft, hostSubnets, file);
  // The node NIC MTU is the underlay's; the overlay MTU (the ClusterNetwork object's `mtu`) is 50 less.
  const network: ClusterNetwork = { ...draft.network, mtu: underlay.mtu };
  const netNamespaces = buildNetNamespaces(objs, network);
  const pods = buildPods(objs, hostSubnets, underlay);
  const services = buildServices(objs, network);
  const endpoints = buildEndpoints(objs, services, pods, hostSubnets);
  assignEgressIps(objs, hostSubnets, netNamespaces, underlay, pods);
  const egressNetworkPolicies = buildEgressNetworkPolicies(objs, netNamespaces);
  const networkPolicies: NetworkPolicy[] = ofKind(objs, 'NetworkPolicy').map((d) => ({
    namespace: d.namespace,
    name: d.name,
    podSelector: d.podSelector,
    policyTypes: d.policyTypes,
    ingress: d.ingress,
    egress: d.egress,
  }));
  const externalHosts = buildExternalHosts(objs, network, underlay);

  return {
    network,
    hostSubnets: hostSubnets.map((h) => h.value),
    netNamespaces,
    pods,
    services: services.map((s) => s.value),
    endpoints,
    egressNetworkPolicies,
    networkPolicies,
    underlay,
    externalHosts,
  };
}

/** The ClusterNetwork without its MTU (which comes from the underlay), plus the doc for later errors. */
interface NetworkDraft {
  network: Omit<ClusterNetwork, 'mtu'>;
  /** The ClusterNetwork object's own `mtu`: the overlay MTU. */
  overlayMtu?: number;
  doc?: ObjectBase;
}

function buildNetwork(objs: AnyDoc[]): NetworkDraft {
  const d = ofKind(objs, 'ClusterNetwork')[0];
  if (!d) {
    const { cidr: clusterNetwork, hostSubnetLength, serviceNetwork, mode, vxlanPort } = DEFAULT_NETWORK;
    return { network: { name: 'default', clusterNetwork, hostSubnetLength, serviceNetwork, mode, vxlanPort } };
  }
  const mode =
    (Object.keys(PLUGIN_NAMES) as PluginMode[]).find((m) => PLUGIN_NAMES[m] === d.pluginName) ??
    d.f.fail(
      'pluginName',
      `${JSON.stringify(d.pluginName)} is not an openshift-sdn plugin (expected one of ${Object.values(PLUGIN_NAMES).join(', ')})`,
    );
  if (overlaps(d.serviceNetwork, d.cidr))
    d.f.fail(
      'serviceNetwork',
      `${cidrToString(d.serviceNetwork)} overlaps the cluster network ${cidrToString(d.cidr)}`,
    );
  return {
    network: {
      name: d.name,
      clusterNetwork: d.cidr,
      hostSubnetLength: d.hostSubnetLength,
      serviceNetwork: d.serviceNetwork,
      mode,
      vxlanPort: d.vxlanPort ?? DEFAULT_NETWORK.vxlanPort,
    },
    overlayMtu: d.overlayMtu,
    doc: d,
  };
}

interface BuiltHostSubnet {
  value: HostSubnet;
  doc: Extract<AnyDoc, { kind: 'HostSubnet' }>;
}

function buildHostSubnets(objs: AnyDoc[], network: Omit<ClusterNetwork, 'mtu'>): BuiltHostSubnet[] {
  const docs = ofKind(objs, 'HostSubnet');
  const allocator = new HostSubnetAllocator(network.clusterNetwork, network.hostSubnetLength);
  const prefix = 32 - network.hostSubnetLength;
  const subnetOwner = new Map<number, string>();
  const hostIpOwner = new Map<number, string>();
  for (const d of docs) {
    const other = hostIpOwner.get(d.hostIP);
    if (other !== undefined)
      d.f.fail('hostIP', `duplicate IP: ${ipv4ToString(d.hostIP)} is already the hostIP of HostSubnet ${other}`);
    hostIpOwner.set(d.hostIP, d.name);
    if (!d.subnet) continue;
    const s = cidrToString(d.subnet);
    if (d.subnet.prefix !== prefix) {
      d.f.fail(
        'subnet',
        `hostSubnetLength inconsistent: ${s} is a /${d.subnet.prefix} but the ClusterNetwork's hostSubnetLength ${network.hostSubnetLength} gives /${prefix}`,
      );
    }
    if (!cidrContains(network.clusterNetwork, d.subnet.network))
      d.f.fail('subnet', `${s} is not inside the cluster network ${cidrToString(network.clusterNetwork)}`);
    const owner = subnetOwner.get(d.subnet.network);
    if (owner !== undefined) d.f.fail('subnet', `${s} overlaps the subnet of HostSubnet ${owner}`);
    subnetOwner.set(d.subnet.network, d.name);
    allocator.markTaken(d.subnet);
  }
  return docs.map((d) => {
    const subnet =
      d.subnet ??
      allocator.allocate() ??
      d.f.fail(
        'subnet',
        `no free /${prefix} left in the cluster network ${cidrToString(network.clusterNetwork)} to allocate`,
      );
    return {
      doc: d,
      value: {
        name: d.name,
        hostIP: d.hostIP,
        subnet,
        egressIPs: [...d.egressIPs],
        egressCIDRs: d.egressCIDRs,
        uid: d.uid ?? hashedUid('hostsubnet', d.name),
        nicMac: d.nicMac ?? hashedMac('nic', d.name),
        tun0Mac: d.tun0Mac ?? hashedMac('tun0', d.name),
      },
    };
  });
}

function buildUnderlay(objs: AnyDoc[], draft: NetworkDraft, hosts: BuiltHostSubnet[], file: string): Underlay {
  const network = draft.network;
  const d = ofKind(objs, 'Underlay')[0];
  let net = d?.cidr;
  if (!net) {
    // Smallest network of /24 or shorter holding every node.
    let prefix = 24;
    const first = hosts[0]?.value.hostIP ?? 0xc0a80000; // 192.168.0.0
    while (prefix > 0 && !hosts.every((h) => ((h.value.hostIP ^ first) & prefixMask(prefix)) === 0)) prefix--;
    net = { network: (first & prefixMask(prefix)) >>> 0, prefix, mask: prefixMask(prefix) };
  }
  const where = d?.f;
  const fail = (field: string, detail: string): never => {
    if (where) where.fail(field, detail);
    throw new ConfigError(file, 'Underlay (default)', field, `${detail} (add a kind: Underlay object)`);
  };
  const gateway = d?.gateway ?? net.network + 1;
  if (!cidrContains(net, gateway) || gateway === net.network || gateway === broadcastOf(net)) {
    fail('gateway', `${ipv4ToString(gateway)} is not a host address of the underlay network ${cidrToString(net)}`);
  }
  for (const [field, other] of [
    ['cluster network', network.clusterNetwork],
    ['service network', network.serviceNetwork],
  ] as const) {
    if (overlaps(net, other)) fail('cidr', `${cidrToString(net)} overlaps the ${field} ${cidrToString(other)}`);
  }
  const overlay = draft.overlayMtu;
  const mtu = d?.mtu ?? (overlay !== undefined ? overlay + 50 : 1500);
  if (overlay !== undefined && overlay !== mtu - 50) {
    draft.doc!.f.fail(
      'mtu',
      `overlay MTU ${overlay} does not match the underlay MTU ${mtu} minus 50 bytes of VXLAN overhead (expected ${mtu - 50})`,
    );
  }

  for (const h of hosts) {
    const ip = h.value.hostIP;
    const s = ipv4ToString(ip);
    if (!cidrContains(net, ip)) h.doc.f.fail('hostIP', `${s} is not inside the underlay network ${cidrToString(net)}`);
    if (ip === net.network || ip === broadcastOf(net) || ip === gateway) {
      const what = ip === gateway ? 'gateway' : ip === net.network ? 'network' : 'broadcast';
      h.doc.f.fail('hostIP', `${s} is the underlay's ${what} address (expected a host address)`);
    }
  }
  return { cidr: net, gateway, gatewayMac: d?.gatewayMac ?? AZURE_GATEWAY_MAC, mtu };
}

function buildNetNamespaces(objs: AnyDoc[], network: ClusterNetwork): NetNamespace[] {
  const order: string[] = [];
  const seen = new Set<string>();
  for (const o of objs) {
    const ns = o.namespace !== '' ? o.namespace : o.kind === 'Namespace' || o.kind === 'NetNamespace' ? o.name : '';
    if (ns !== '' && !seen.has(ns)) {
      seen.add(ns);
      order.push(ns);
    }
  }
  if (!seen.has('default')) order.push('default'); // every cluster has it, with the global VNID
  const explicit = new Map(ofKind(objs, 'NetNamespace').map((d) => [d.name, d]));
  const labels = new Map(ofKind(objs, 'Namespace').map((d) => [d.name, d.labels]));

  // Only multitenant mode lets namespaces share a VNID (`oc adm pod-network join-projects`).
  const vnidOwner = new Map<number, string>();
  for (const d of explicit.values()) {
    const other = vnidOwner.get(d.netid);
    if (other !== undefined && network.mode !== 'multitenant') {
      d.f.fail(
        'netid',
        `VNID ${d.netid} is already the netid of NetNamespace ${other} (only the multitenant plugin lets namespaces share one)`,
      );
    }
    vnidOwner.set(d.netid, d.name);
  }
  let next = MIN_ALLOCATED_VNID;
  return order.map((name): NetNamespace => {
    const d = explicit.get(name);
    let netid: number;
    if (d) netid = d.netid;
    else if (name === 'default') netid = 0;
    else {
      while (vnidOwner.has(next)) next++;
      netid = next++;
    }
    return {
      name,
      netid,
      egressIPs: d ? [...d.egressIPs] : [],
      multicast: d?.annotations[ANNOTATION_MULTICAST] === 'true',
      namespaceLabels: { ...(labels.get(name) ?? {}), [NAMESPACE_NAME_LABEL]: name },
    };
  });
}

function findEnv(containers: ContainerDoc[], name: string): { value: string; path: string } | undefined {
  for (const c of containers) {
    const e = c.env.get(name);
    if (e) return e;
  }
  return undefined;
}

function buildEgressRouter(d: PodDoc, underlay: Underlay): EgressRouterConfig {
  const containers = [...d.initContainers, ...d.containers];
  const fail = (path: string, detail: string): never => d.f.fail(path, detail);
  const need = (name: string): { value: string; path: string } =>
    findEnv(containers, name) ??
    fail(
      'spec.containers',
      `egress router pod (${ANNOTATION_MACVLAN}: "true") has no ${name} environment variable on any container`,
    );

  const src = need('EGRESS_SOURCE');
  const [srcIp, srcPrefix, ...rest] = src.value.trim().split('/');
  const source = parseIpIn(d, src.path, srcIp ?? '', 'EGRESS_SOURCE');
  if (rest.length > 0 || (srcPrefix !== undefined && !/^(3[0-2]|[12]?\d)$/.test(srcPrefix)))
    fail(src.path, `EGRESS_SOURCE ${JSON.stringify(src.value)} is not an IP or IP/prefix`);
  if (!cidrContains(underlay.cidr, source))
    fail(
      src.path,
      `EGRESS_SOURCE ${ipv4ToString(source)} is not inside the underlay network ${cidrToString(underlay.cidr)}`,
    );
  const gw = need('EGRESS_GATEWAY');
  const gateway = parseIpIn(d, gw.path, gw.value.trim(), 'EGRESS_GATEWAY');

  const dst = need('EGRESS_DESTINATION');
  const lines = dst.value
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter((l) => l !== '');
  if (lines.length === 0)
    fail(dst.path, 'EGRESS_DESTINATION is empty (expected "<ip>" or lines "<port> <tcp|udp> <ip> [<port>]")');
  const destinations: EgressRouterConfig['destinations'] = [];
  const localPorts = new Set<string>();
  lines.forEach((line, i) => {
    const parts = line.split(/\s+/);
    const what = `EGRESS_DESTINATION line ${i + 1} ${JSON.stringify(line)}`;
    if (parts.length === 1) {
      if (i !== lines.length - 1) fail(dst.path, `${what}: the fallback address must be the last line`);
      destinations.push({ ip: parseIpIn(d, dst.path, parts[0]!, what) });
      return;
    }
    const proto = parts[1]?.toUpperCase();
    const port = Number(parts[0]);
    const target = parts[3] === undefined ? undefined : Number(parts[3]);
    const okPort = (p: number | undefined): boolean => p === undefined || (Number.isInteger(p) && p >= 1 && p <= 65535);
    if (
      (parts.length !== 3 && parts.length !== 4) ||
      (proto !== 'TCP' && proto !== 'UDP') ||
      !okPort(port) ||
      !okPort(target)
    ) {
      fail(dst.path, `${what} is not "<ip>", "<port> <tcp|udp> <ip>" or "<port> <tcp|udp> <ip> <port>"`);
    }
    if (localPorts.has(`${proto}/${port}`))
      fail(
        dst.path,
        `${what}: local port ${port}/${(proto as string).toLowerCase()} is already redirected by an earlier line`,
      );
    localPorts.add(`${proto}/${port}`);
    destinations.push({
      port,
      protocol: proto as 'TCP' | 'UDP',
      ip: parseIpIn(d, dst.path, parts[2]!, what),
      ...(target !== undefined ? { targetPort: target } : {}),
    });
  });
  return { source, gateway, destinations, macvlanMac: hashedMac('macvlan', `${d.namespace}/${d.name}`) };
}

function parseIpIn(d: ObjectBase, path: string, s: string, what: string): Ipv4Address {
  return (
    tryParseIpv4(s) ??
    d.f.fail(path, `${what}: ${JSON.stringify(s)} is not an IPv4 address (expected a dotted quad like 192.168.0.99)`)
  );
}

function buildPods(objs: AnyDoc[], hosts: BuiltHostSubnet[], underlay: Underlay): Pod[] {
  const nodes = new Map(hosts.map((h) => [h.value.name, h.value]));
  const ipams = new Map<string, HostLocalIpam>();
  const ipOwner = new Map<number, string>();
  const docs = ofKind(objs, 'Pod');
  const nodeOf = (d: PodDoc): HostSubnet =>
    nodes.get(d.nodeName) ??
    d.f.fail(
      'spec.nodeName',
      `node ${JSON.stringify(d.nodeName)} does not exist (expected the name of a HostSubnet${nodes.size > 0 ? `: ${[...nodes.keys()].join(', ')}` : '; the file has none'})`,
    );

  // Explicit addresses first: validated and reserved, so allocation never hands them out again.
  for (const d of docs) {
    const node = nodeOf(d);
    if (d.podIP === undefined) continue;
    const s = ipv4ToString(d.podIP);
    if (d.hostNetwork) {
      if (d.podIP !== node.hostIP)
        d.f.fail(
          'status.podIP',
          `${s} is not node ${node.name}'s hostIP ${ipv4ToString(node.hostIP)} (a hostNetwork pod has its node's address)`,
        );
      continue;
    }
    const subnet = node.subnet;
    if (!cidrContains(subnet, d.podIP))
      d.f.fail('status.podIP', `${s} is not inside node ${node.name}'s subnet ${cidrToString(subnet)}`);
    if (d.podIP === subnet.network || d.podIP === subnet.network + 1 || d.podIP === broadcastOf(subnet)) {
      const what =
        d.podIP === subnet.network ? 'network' : d.podIP === subnet.network + 1 ? 'gateway (tun0)' : 'broadcast';
      d.f.fail(
        'status.podIP',
        `${s} is the ${what} address of node ${node.name}'s subnet ${cidrToString(subnet)} (expected .2 or above)`,
      );
    }
    const other = ipOwner.get(d.podIP);
    if (other !== undefined) d.f.fail('status.podIP', `duplicate IP: ${s} is already the IP of Pod ${other}`);
    ipOwner.set(d.podIP, `${d.namespace}/${d.name}`);
    let ipam = ipams.get(node.name);
    if (!ipam) ipams.set(node.name, (ipam = new HostLocalIpam(subnet)));
    ipam.reserve(d.podIP);
  }

  return docs.map((d): Pod => {
    const node = nodeOf(d);
    let ip: Ipv4Address;
    if (d.hostNetwork) ip = node.hostIP;
    else if (d.podIP !== undefined) ip = d.podIP;
    else {
      let ipam = ipams.get(node.name);
      if (!ipam) ipams.set(node.name, (ipam = new HostLocalIpam(node.subnet)));
      ip =
        ipam.allocate() ??
        d.f.fail(
          'status.podIP',
          `node ${node.name}'s subnet ${cidrToString(node.subnet)} has no free address left to allocate`,
        );
    }
    const ports: Pod['ports'] = [];
    for (const c of d.containers) {
      for (const p of c.ports) if (!ports.some((q) => q.port === p.port && q.protocol === p.protocol)) ports.push(p);
    }
    const pod: Pod = {
      namespace: d.namespace,
      name: d.name,
      node: node.name,
      ip,
      hostNetwork: d.hostNetwork,
      labels: d.labels,
      mac: d.hostNetwork ? node.nicMac : podMac(ip),
      ports,
    };
    if (d.annotations[ANNOTATION_MACVLAN] === 'true') {
      if (d.hostNetwork)
        d.f.fail(
          'spec.hostNetwork',
          `an egress router pod (${ANNOTATION_MACVLAN}: "true") cannot use the host network`,
        );
      pod.egressRouter = buildEgressRouter(d, underlay);
    }
    return pod;
  });
}

interface BuiltService {
  value: Service;
  doc: Extract<AnyDoc, { kind: 'Service' }>;
}

function buildServices(objs: AnyDoc[], network: ClusterNetwork): BuiltService[] {
  const ipOwner = new Map<number, string>();
  const nodePortOwner = new Map<string, string>();
  return ofKind(objs, 'Service').map((d) => {
    const key = `${d.namespace}/${d.name}`;
    const s = ipv4ToString(d.clusterIP);
    const sn = network.serviceNetwork;
    if (!cidrContains(sn, d.clusterIP))
      d.f.fail('spec.clusterIP', `${s} is not inside the service network ${cidrToString(sn)}`);
    if (d.clusterIP === sn.network || d.clusterIP === broadcastOf(sn)) {
      const what = d.clusterIP === sn.network ? 'network' : 'broadcast';
      d.f.fail('spec.clusterIP', `${s} is the ${what} address of the service network (expected a host address)`);
    }
    const other = ipOwner.get(d.clusterIP);
    if (other !== undefined)
      d.f.fail('spec.clusterIP', `duplicate IP: ${s} is already the clusterIP of Service ${other}`);
    ipOwner.set(d.clusterIP, key);

    const seenPorts = new Set<string>();
    const seenNames = new Set<string>();
    for (const p of d.ports) {
      const at = `${p.path}`;
      if (seenPorts.has(`${p.protocol}/${p.port}`))
        d.f.fail(`${at}.port`, `duplicate port ${p.port}/${p.protocol} in this service`);
      seenPorts.add(`${p.protocol}/${p.port}`);
      if (d.ports.length > 1 && p.name === undefined)
        d.f.fail(`${at}.name`, 'required field is missing (expected a name: the service has more than one port)');
      if (p.name !== undefined) {
        if (seenNames.has(p.name)) d.f.fail(`${at}.name`, `duplicate port name ${JSON.stringify(p.name)}`);
        seenNames.add(p.name);
      }
      if (d.type === 'ClusterIP') {
        if (p.nodePort !== undefined)
          d.f.fail(`${at}.nodePort`, 'a ClusterIP service has no node port (expected type NodePort or LoadBalancer)');
        continue;
      }
      const nodePort =
        p.nodePort ??
        d.f.fail(
          `${at}.nodePort`,
          `required field is missing (packetwalk does not allocate node ports; expected ${NODE_PORT_MIN}..${NODE_PORT_MAX})`,
        );
      if (nodePort < NODE_PORT_MIN || nodePort > NODE_PORT_MAX)
        d.f.fail(`${at}.nodePort`, `${nodePort} is out of range (expected ${NODE_PORT_MIN}..${NODE_PORT_MAX})`);
      const npKey = `${p.protocol}/${nodePort}`;
      const npOther = nodePortOwner.get(npKey);
      if (npOther !== undefined)
        d.f.fail(`${at}.nodePort`, `node port ${nodePort}/${p.protocol} is already used by Service ${npOther}`);
      nodePortOwner.set(npKey, key);
    }
    const externalIPs = [...d.ingressIPs];
    for (const ip of d.externalIPs) if (!externalIPs.includes(ip)) externalIPs.push(ip);
    return {
      doc: d,
      value: {
        namespace: d.namespace,
        name: d.name,
        type: d.type,
        clusterIP: d.clusterIP,
        ports: d.ports.map(({ name, protocol, port, targetPort, nodePort }) => ({
          ...(name !== undefined ? { name } : {}),
          protocol,
          port,
          targetPort,
          ...(nodePort !== undefined ? { nodePort } : {}),
        })),
        selector: d.selector ?? {},
        externalIPs,
      },
    };
  });
}

function buildEndpoints(objs: AnyDoc[], services: BuiltService[], pods: Pod[], hosts: BuiltHostSubnet[]): Endpoints[] {
  const svcByKey = new Map(services.map((s) => [`${s.value.namespace}/${s.value.name}`, s]));
  const podByKey = new Map(pods.map((p) => [`${p.namespace}/${p.name}`, p]));
  const nodeNames = new Set(hosts.map((h) => h.value.name));
  const explicit = new Map<string, Endpoints>();
  for (const d of ofKind(objs, 'Endpoints')) {
    const key = `${d.namespace}/${d.name}`;
    const svc =
      svcByKey.get(key) ??
      d.f.fail('metadata.name', `no Service ${key} for these Endpoints (Endpoints are named after their Service)`);
    const addresses = d.addresses.map((a): EndpointAddress => {
      let node = a.nodeName;
      if (node !== undefined && !nodeNames.has(node))
        d.f.fail(
          `${a.path}.nodeName`,
          `node ${JSON.stringify(node)} does not exist (expected the name of a HostSubnet)`,
        );
      let pod: string | undefined;
      if (a.pod) {
        pod = `${a.pod.namespace}/${a.pod.name}`;
        const p = podByKey.get(pod) ?? d.f.fail(`${a.path}.targetRef.name`, `Pod ${pod} does not exist`);
        if (p.ip !== a.ip)
          d.f.fail(`${a.path}.ip`, `${ipv4ToString(a.ip)} is not the IP of Pod ${pod} (${ipv4ToString(p.ip)})`);
        node ??= p.node;
      }
      return { ip: a.ip, ...(pod !== undefined ? { pod } : {}), ...(node !== undefined ? { node } : {}) };
    });
    // kube-proxy pairs service ports with endpoint ports by name.
    for (const sp of svc.value.ports) {
      if (
        addresses.length > 0 &&
        !d.ports.some((p) => (p.name ?? '') === (sp.name ?? '') && p.protocol === sp.protocol)
      ) {
        d.f.fail(
          'subsets',
          `no port named ${JSON.stringify(sp.name ?? '')} (${sp.protocol}) for service port ${sp.port} of Service ${key}`,
        );
      }
    }
    explicit.set(key, {
      namespace: d.namespace,
      name: d.name,
      addresses,
      ports: d.ports.map((p) => ({
        ...(p.name !== undefined ? { name: p.name } : {}),
        protocol: p.protocol,
        port: p.port,
      })),
    });
  }
  // Pods by namespace, so deriving each service's endpoints looks at its namespace only (not every pod).
  const podsByNamespace = new Map<string, Pod[]>();
  for (const p of pods) {
    const l = podsByNamespace.get(p.namespace);
    if (l) l.push(p);
    else podsByNamespace.set(p.namespace, [p]);
  }
  const out: Endpoints[] = [];
  for (const { value: svc } of services) {
    const key = `${svc.namespace}/${svc.name}`;
    const e = explicit.get(key);
    if (e) {
      out.push(e);
      continue;
    }
    if (Object.keys(svc.selector).length === 0) continue; // no selector: no Endpoints unless the file gives them
    const addresses = (podsByNamespace.get(svc.namespace) ?? [])
      .filter((p) => selects(svc.selector, p.labels))
      .sort((a, b) => a.ip - b.ip)
      .map((p): EndpointAddress => ({ ip: p.ip, pod: `${p.namespace}/${p.name}`, node: p.node }));
    out.push({
      namespace: svc.namespace,
      name: svc.name,
      addresses,
      ports: svc.ports.map((p) => ({
        ...(p.name !== undefined ? { name: p.name } : {}),
        protocol: p.protocol,
        port: p.targetPort,
      })),
    });
  }
  return out;
}

function assignEgressIps(
  objs: AnyDoc[],
  hosts: BuiltHostSubnet[],
  netns: NetNamespace[],
  underlay: Underlay,
  pods: Pod[],
): void {
  // Every address on the underlay has one owner.
  const owner = new Map<number, string>([[underlay.gateway, 'the underlay gateway']]);
  for (const h of hosts) owner.set(h.value.hostIP, `the hostIP of HostSubnet ${h.value.name}`);
  const claim = (ip: number, who: string, fail: (detail: string) => never): void => {
    const other = owner.get(ip);
    if (other !== undefined) fail(`duplicate IP: ${ipv4ToString(ip)} is already ${other}`);
    owner.set(ip, who);
  };
  for (const h of hosts) {
    h.value.egressIPs.forEach((ip, i) => {
      const fail = (detail: string): never => h.doc.f.fail(`egressIPs[${i}]`, detail);
      if (!cidrContains(underlay.cidr, ip))
        fail(
          `${ipv4ToString(ip)} is not inside the underlay network ${cidrToString(underlay.cidr)} (egress IPs live on the node NIC)`,
        );
      claim(ip, `an egress IP of HostSubnet ${h.value.name}`, fail);
    });
    h.value.egressCIDRs.forEach((c, i) => {
      if (!cidrContains(underlay.cidr, c.network) || c.prefix < underlay.cidr.prefix) {
        h.doc.f.fail(
          `egressCIDRs[${i}]`,
          `${cidrToString(c)} is not inside the underlay network ${cidrToString(underlay.cidr)}`,
        );
      }
    });
  }
  const podDocs = ofKind(objs, 'Pod');
  for (const p of pods) {
    if (!p.egressRouter) continue;
    const d = podDocs.find((x) => x.namespace === p.namespace && x.name === p.name)!;
    claim(p.egressRouter.source, `the EGRESS_SOURCE of Pod ${p.namespace}/${p.name}`, (detail) =>
      d.f.fail('spec', `EGRESS_SOURCE: ${detail}`),
    );
  }
  const netnsDocs = new Map(ofKind(objs, 'NetNamespace').map((d) => [d.name, d]));
  const hosted = new Set(hosts.flatMap((h) => h.value.egressIPs));
  const requested = new Map<number, string>();
  for (const ns of netns) {
    ns.egressIPs.forEach((ip, i) => {
      const d = netnsDocs.get(ns.name)!;
      if (!cidrContains(underlay.cidr, ip))
        d.f.fail(
          `egressIPs[${i}]`,
          `${ipv4ToString(ip)} is not inside the underlay network ${cidrToString(underlay.cidr)} (egress IPs live on the node NIC)`,
        );
      const other = requested.get(ip);
      if (other !== undefined)
        d.f.fail(
          `egressIPs[${i}]`,
          `duplicate IP: ${ipv4ToString(ip)} is already an egress IP of NetNamespace ${other}`,
        );
      requested.set(ip, ns.name);
      const o = owner.get(ip);
      if (o !== undefined && !o.startsWith('an egress IP of HostSubnet'))
        d.f.fail(`egressIPs[${i}]`, `duplicate IP: ${ipv4ToString(ip)} is already ${o}`);
      if (hosted.has(ip)) return;
      // Automatic assignment: the node whose egressCIDRs hold it and that hosts the fewest egress IPs.
      let best: HostSubnet | undefined;
      for (const h of hosts) {
        if (!h.value.egressCIDRs.some((c) => cidrContains(c, ip))) continue;
        if (!best || h.value.egressIPs.length < best.egressIPs.length) best = h.value;
      }
      if (best) {
        best.egressIPs.push(ip);
        hosted.add(ip);
      }
    });
  }
}

function buildEgressNetworkPolicies(objs: AnyDoc[], netns: NetNamespace[]): EgressNetworkPolicy[] {
  const vnid = new Map(netns.map((n) => [n.name, n.netid]));
  const perNamespace = new Map<string, string>();
  return ofKind(objs, 'EgressNetworkPolicy').map((d) => {
    const other = perNamespace.get(d.namespace);
    if (other !== undefined)
      d.f.fail(
        'metadata.name',
        `namespace ${d.namespace} already has EgressNetworkPolicy ${other} (openshift-sdn allows one per namespace)`,
      );
    perNamespace.set(d.namespace, d.name);
    if (vnid.get(d.namespace) === 0)
      d.f.fail(
        'metadata.namespace',
        `namespace ${d.namespace} has the global VNID 0, which openshift-sdn does not apply EgressNetworkPolicy to`,
      );
    return { namespace: d.namespace, name: d.name, rules: d.rules.map((r) => ({ ...r })) };
  });
}

function buildExternalHosts(objs: AnyDoc[], network: ClusterNetwork, underlay: Underlay): ExternalHost[] {
  const ipOwner = new Map<number, string>();
  return ofKind(objs, 'ExternalHost').map((d) => {
    const s = ipv4ToString(d.ip);
    for (const [what, net] of [
      ['cluster network', network.clusterNetwork],
      ['service network', network.serviceNetwork],
      ['underlay network', underlay.cidr],
    ] as const) {
      if (cidrContains(net, d.ip))
        d.f.fail(
          'ip',
          `${s} is inside the ${what} ${cidrToString(net)} (an external host is reached through the underlay gateway)`,
        );
    }
    const other = ipOwner.get(d.ip);
    if (other !== undefined) d.f.fail('ip', `duplicate IP: ${s} is already the ip of ExternalHost ${other}`);
    ipOwner.set(d.ip, d.name);
    return { name: d.name, ip: d.ip, mac: d.mac ?? hashedMac('external', d.name) };
  });
}
