/**
 * Reading one cluster object of each kind into a plain record: field types, required fields, syntax of addresses,
 * and the unknown-field policy of fields.ts. Nothing here looks at other objects; cross-object rules (IP inside
 * the node's subnet, duplicates, pod on a missing node...) are in build.ts.
 *
 * apiVersion is optional (hand-written files may leave it out; `oc get -o yaml` output has it), but when given it
 * must be the one below.
 */

import type { Ipv4Address, Ipv4Cidr, MacAddress } from '../../codecs/bytes.js';
import type { NetworkPolicyPeer, NetworkPolicyRule } from './types.js';
import { ConfigError } from './errors.js';
import { Fields, METADATA_IGNORED, METADATA_READ, parseIpAt, type Where } from './fields.js';

export const KIND_API_VERSIONS = {
  ClusterNetwork: 'network.openshift.io/v1',
  HostSubnet: 'network.openshift.io/v1',
  NetNamespace: 'network.openshift.io/v1',
  EgressNetworkPolicy: 'network.openshift.io/v1',
  Namespace: 'v1',
  Pod: 'v1',
  Service: 'v1',
  Endpoints: 'v1',
  NetworkPolicy: 'networking.k8s.io/v1',
  Underlay: 'packetwalk/v1',
  ExternalHost: 'packetwalk/v1',
} as const;

export type Kind = keyof typeof KIND_API_VERSIONS;

const NAMESPACED: ReadonlySet<Kind> = new Set<Kind>([
  'Pod',
  'Service',
  'Endpoints',
  'EgressNetworkPolicy',
  'NetworkPolicy',
]);

/** Annotations packetwalk reads. */
export const ANNOTATION_MULTICAST = 'netnamespace.network.openshift.io/multicast-enabled';
export const ANNOTATION_MACVLAN = 'pod.network.openshift.io/assign-macvlan';
/** packetwalk's own HostSubnet annotations for the node NIC and tun0 MACs (derived when absent). */
export const ANNOTATION_NIC_MAC = 'packetwalk.io/nic-mac';
export const ANNOTATION_TUN0_MAC = 'packetwalk.io/tun0-mac';

/** PodSpec fields that do not change the data path (Kubernetes core/v1 PodSpec). */
const POD_SPEC_IGNORED = [
  'activeDeadlineSeconds',
  'affinity',
  'automountServiceAccountToken',
  'dnsConfig',
  'dnsPolicy',
  'enableServiceLinks',
  'ephemeralContainers',
  'hostAliases',
  'hostIPC',
  'hostPID',
  'hostUsers',
  'hostname',
  'imagePullSecrets',
  'nodeSelector',
  'os',
  'overhead',
  'preemptionPolicy',
  'priority',
  'priorityClassName',
  'readinessGates',
  'resourceClaims',
  'resources',
  'restartPolicy',
  'runtimeClassName',
  'schedulerName',
  'schedulingGates',
  'securityContext',
  'serviceAccount',
  'serviceAccountName',
  'setHostnameAsFQDN',
  'shareProcessNamespace',
  'subdomain',
  'terminationGracePeriodSeconds',
  'tolerations',
  'topologySpreadConstraints',
  'volumes',
];
/** Container fields that do not change the data path (Kubernetes core/v1 Container). */
const CONTAINER_IGNORED = [
  'args',
  'command',
  'envFrom',
  'image',
  'imagePullPolicy',
  'lifecycle',
  'livenessProbe',
  'readinessProbe',
  'resizePolicy',
  'resources',
  'restartPolicy',
  'securityContext',
  'startupProbe',
  'stdin',
  'stdinOnce',
  'terminationMessagePath',
  'terminationMessagePolicy',
  'tty',
  'volumeDevices',
  'volumeMounts',
  'workingDir',
];
/** ServiceSpec fields that do not change the data path packetwalk models. */
const SERVICE_SPEC_IGNORED = [
  'allocateLoadBalancerNodePorts',
  'healthCheckNodePort',
  'loadBalancerClass',
  'loadBalancerIP',
  'publishNotReadyAddresses',
  'sessionAffinityConfig',
  'trafficDistribution',
];

const PROTOCOLS = ['TCP', 'UDP'] as const;
type Protocol = (typeof PROTOCOLS)[number];

/** What every object has: its kind, names and the Fields of the whole document (for later errors). */
export interface ObjectBase {
  kind: Kind;
  name: string;
  namespace: string; // '' for cluster-scoped kinds
  labels: Record<string, string>;
  annotations: Record<string, string>;
  uid?: string;
  /** Where the object sits in its file: `document 2`, `items[3]`, `[3]`. */
  position: string;
  /** The whole document; `f.fail('status.podIP', ...)` reports against this object. */
  f: Fields;
}

export interface ClusterNetworkDoc extends ObjectBase {
  cidr: Ipv4Cidr;
  hostSubnetLength: number;
  serviceNetwork: Ipv4Cidr;
  pluginName: string;
  vxlanPort?: number;
  /** The object's `mtu` is the overlay (pod) MTU, 1450 on a 1500 network. */
  overlayMtu?: number;
}

export interface HostSubnetDoc extends ObjectBase {
  hostIP: Ipv4Address;
  subnet?: Ipv4Cidr;
  egressIPs: Ipv4Address[];
  egressCIDRs: Ipv4Cidr[];
  nicMac?: MacAddress;
  tun0Mac?: MacAddress;
}

export interface NetNamespaceDoc extends ObjectBase {
  netid: number;
  egressIPs: Ipv4Address[];
}

export interface ContainerDoc {
  path: string;
  ports: { protocol: Protocol; port: number }[];
  env: ReadonlyMap<string, { value: string; path: string }>;
}

export interface PodDoc extends ObjectBase {
  nodeName: string;
  hostNetwork: boolean;
  podIP?: Ipv4Address;
  containers: ContainerDoc[];
  initContainers: ContainerDoc[];
}

export interface ServicePortDoc {
  path: string;
  name?: string;
  protocol: Protocol;
  port: number;
  targetPort: number;
  nodePort?: number;
}

export interface ServiceDoc extends ObjectBase {
  type: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  clusterIP: Ipv4Address;
  ports: ServicePortDoc[];
  selector?: Record<string, string>;
  externalIPs: Ipv4Address[];
  ingressIPs: Ipv4Address[];
}

export interface EndpointAddressDoc {
  path: string;
  ip: Ipv4Address;
  nodeName?: string;
  pod?: { namespace: string; name: string };
}

export interface EndpointsDoc extends ObjectBase {
  addresses: EndpointAddressDoc[];
  ports: { name?: string; protocol: Protocol; port: number }[];
}

export interface EgressNetworkPolicyDoc extends ObjectBase {
  rules: { type: 'Allow' | 'Deny'; cidrSelector: Ipv4Cidr }[];
}

export interface NetworkPolicyDoc extends ObjectBase {
  podSelector: Record<string, string>;
  policyTypes: ('Ingress' | 'Egress')[];
  ingress: NetworkPolicyRule[];
  egress: NetworkPolicyRule[];
}

export interface UnderlayDoc extends ObjectBase {
  cidr: Ipv4Cidr;
  gateway?: Ipv4Address;
  gatewayMac?: MacAddress;
  mtu?: number;
}

export interface ExternalHostDoc extends ObjectBase {
  ip: Ipv4Address;
  mac?: MacAddress;
}

export type AnyDoc =
  | ({ kind: 'ClusterNetwork' } & ClusterNetworkDoc)
  | ({ kind: 'HostSubnet' } & HostSubnetDoc)
  | ({ kind: 'NetNamespace' } & NetNamespaceDoc)
  | ({ kind: 'Namespace' } & ObjectBase)
  | ({ kind: 'Pod' } & PodDoc)
  | ({ kind: 'Service' } & ServiceDoc)
  | ({ kind: 'Endpoints' } & EndpointsDoc)
  | ({ kind: 'EgressNetworkPolicy' } & EgressNetworkPolicyDoc)
  | ({ kind: 'NetworkPolicy' } & NetworkPolicyDoc)
  | ({ kind: 'Underlay' } & UnderlayDoc)
  | ({ kind: 'ExternalHost' } & ExternalHostDoc);

/** The label used in errors for an object: `Pod project1/sqlapi-1-8jgx8`, `HostSubnet node1`. */
export function objectLabel(kind: string, namespace: string, name: string): string {
  return `${kind} ${namespace === '' ? '' : `${namespace}/`}${name}`;
}

/**
 * Reads one document. `position` says where it is in the file (`document 2`, `items[3]`) and names the object in
 * errors until its kind and name are known.
 */
export function readObject(file: string, position: string, doc: unknown): AnyDoc {
  const kindHint =
    typeof doc === 'object' && doc !== null && typeof (doc as { kind?: unknown }).kind === 'string'
      ? ` (${(doc as { kind: string }).kind})`
      : '';
  const early = Fields.of({ file, object: `${position}${kindHint}` }, '', doc);
  const kind = early.str('kind', `one of ${Object.keys(KIND_API_VERSIONS).join(', ')}`);
  if (!(kind in KIND_API_VERSIONS)) {
    early.fail(
      'kind',
      `unknown kind ${JSON.stringify(kind)} (expected one of ${Object.keys(KIND_API_VERSIONS).join(', ')})`,
    );
  }
  const k = kind as Kind;
  const apiVersion = early.optStr('apiVersion');
  if (apiVersion !== undefined && apiVersion !== KIND_API_VERSIONS[k]) {
    early.fail(
      'apiVersion',
      `${JSON.stringify(apiVersion)} is not the apiVersion of ${k} (expected ${KIND_API_VERSIONS[k]})`,
    );
  }

  // Underlay is a singleton and may leave out metadata; every other kind needs a name.
  const meta = k === 'Underlay' ? early.optObj('metadata') : early.obj('metadata');
  meta?.allow(METADATA_READ, METADATA_IGNORED);
  const name =
    meta === undefined || (k === 'Underlay' && !meta.has('name'))
      ? 'underlay'
      : meta.name('name', k === 'Namespace' || k === 'NetNamespace');
  let namespace = '';
  if (NAMESPACED.has(k)) namespace = meta!.name('namespace', true);
  else if (meta?.has('namespace')) meta.fail('namespace', `${k} is cluster-scoped and has no namespace`);
  const uid = meta?.optStr('uid');

  const where: Where = { file, object: objectLabel(k, namespace, name) };
  const f = new Fields(where, '', early.value);
  const m = meta ? new Fields(where, 'metadata', meta.value) : undefined;
  // `f` reads the document; the object keeps a Fields without it (for errors only), so the parsed document is
  // garbage once read.
  const base: ObjectBase = {
    kind: k,
    name,
    namespace,
    labels: m?.labels('labels') ?? {},
    annotations: m?.annotations('annotations') ?? {},
    uid,
    position,
    f: new Fields(where, '', DETACHED),
  };
  const envelope = ['apiVersion', 'kind', 'metadata'];

  switch (k) {
    case 'ClusterNetwork':
      return {
        ...readClusterNetwork(
          f.allow([
            ...envelope,
            'network',
            'hostsubnetlength',
            'clusterNetworks',
            'serviceNetwork',
            'pluginName',
            'vxlanPort',
            'mtu',
          ]),
          base,
        ),
        kind: k,
      };
    case 'HostSubnet':
      return {
        ...readHostSubnet(f.allow([...envelope, 'host', 'hostIP', 'subnet', 'egressIPs', 'egressCIDRs']), base),
        kind: k,
      };
    case 'NetNamespace':
      f.allow([...envelope, 'netname', 'netid', 'egressIPs']);
      if (f.str('netname') !== name)
        f.fail('netname', `${JSON.stringify(f.str('netname'))} must equal metadata.name ${JSON.stringify(name)}`);
      return { ...base, kind: k, netid: readVnid(f), egressIPs: f.unicastIpList('egressIPs') };
    case 'Namespace':
      f.allow(envelope, ['spec', 'status']);
      return { ...base, kind: k };
    case 'Pod':
      return { ...readPod(f.allow([...envelope, 'spec'], ['status']).obj('spec'), f, base), kind: k };
    case 'Service':
      return { ...readService(f.allow([...envelope, 'spec'], ['status']).obj('spec'), f, base), kind: k };
    case 'Endpoints':
      return { ...readEndpoints(f.allow([...envelope, 'subsets']), base), kind: k };
    case 'EgressNetworkPolicy':
      return { ...readEgressNetworkPolicy(f.allow([...envelope, 'spec']).obj('spec'), base), kind: k };
    case 'NetworkPolicy':
      return { ...readNetworkPolicy(f.allow([...envelope, 'spec']).obj('spec'), base), kind: k };
    case 'Underlay':
      f.allow([...envelope, 'cidr', 'gateway', 'gatewayMac', 'mtu']);
      return {
        ...base,
        kind: k,
        cidr: f.cidr('cidr'),
        gateway: f.optUnicastIp('gateway'),
        gatewayMac: f.optMac('gatewayMac'),
        mtu: f.optInt('mtu', 576, 65535),
      };
    case 'ExternalHost':
      f.allow([...envelope, 'ip', 'mac']);
      return { ...base, kind: k, ip: f.unicastIp('ip'), mac: f.optMac('mac') };
  }
}

/** The value of an object's Fields once read: failing is all such a Fields does. */
const DETACHED: Record<string, unknown> = Object.freeze({});

/** VNID range (openshift/sdn `pkg/network/common/netid.go`): 0 is global, 1..9 reserved, 10..2^24-1 allocatable. */
export const MAX_VNID = 0xffffff;
export const MIN_ALLOCATED_VNID = 10;

function readVnid(f: Fields): number {
  const netid = f.int('netid', 0, MAX_VNID);
  if (netid !== 0 && netid < MIN_ALLOCATED_VNID)
    f.fail('netid', `${netid} is reserved (expected 0 for a global namespace or ${MIN_ALLOCATED_VNID}..${MAX_VNID})`);
  return netid;
}

function readClusterNetwork(f: Fields, base: ObjectBase): ClusterNetworkDoc {
  if (base.name !== 'default')
    f.fail('metadata.name', `${JSON.stringify(base.name)}: the ClusterNetwork must be named "default"`);
  const entries = f.objList('clusterNetworks');
  if (entries.length > 1)
    f.fail('clusterNetworks', `${entries.length} cluster networks given; packetwalk supports exactly one`);
  const legacyCidr = f.optCidr('network');
  const legacyLength = f.optInt('hostsubnetlength', 1, 31);
  let cidr: Ipv4Cidr;
  let hostSubnetLength: number;
  if (entries.length === 1) {
    const e = entries[0]!.allow(['CIDR', 'hostSubnetLength']);
    cidr = e.cidr('CIDR');
    hostSubnetLength = e.int('hostSubnetLength', 1, 31);
    if (legacyCidr && legacyCidr.network !== cidr.network)
      f.fail(
        'network',
        `${f.str('network')} does not match clusterNetworks[0].CIDR ${e.str('CIDR')} (expected the same network)`,
      );
    if (legacyCidr && legacyCidr.prefix !== cidr.prefix)
      f.fail(
        'network',
        `${f.str('network')} does not match clusterNetworks[0].CIDR ${e.str('CIDR')} (expected the same network)`,
      );
    if (legacyLength !== undefined && legacyLength !== hostSubnetLength) {
      f.fail(
        'hostsubnetlength',
        `hostSubnetLength inconsistent: ${legacyLength} here but ${hostSubnetLength} in clusterNetworks[0].hostSubnetLength`,
      );
    }
  } else if (legacyCidr) {
    cidr = legacyCidr;
    hostSubnetLength =
      legacyLength ??
      f.fail(
        'hostsubnetlength',
        'required field is missing (expected the number of host bits per node subnet, e.g. 9 for /23)',
      );
  } else {
    return f.fail(
      'clusterNetworks',
      'required field is missing (expected [{CIDR: 10.128.0.0/14, hostSubnetLength: 9}])',
    );
  }
  const hostRoom = 32 - cidr.prefix;
  if (hostSubnetLength < 2 || hostSubnetLength >= hostRoom) {
    const at = entries.length === 1 ? 'clusterNetworks[0].hostSubnetLength' : 'hostsubnetlength';
    f.fail(
      at,
      `hostSubnetLength ${hostSubnetLength} does not fit cluster network /${cidr.prefix} (expected 2..${hostRoom - 1})`,
    );
  }
  return {
    ...base,
    cidr,
    hostSubnetLength,
    serviceNetwork: f.cidr('serviceNetwork'),
    pluginName: f.str('pluginName', 'redhat/openshift-ovs-networkpolicy, -multitenant or -subnet'),
    vxlanPort: f.optInt('vxlanPort', 1, 65535),
    overlayMtu: f.optInt('mtu', 576, 65535),
  };
}

function annotationMac(f: Fields, annotations: Record<string, string>, key: string): MacAddress | undefined {
  const s = annotations[key];
  if (s === undefined) return undefined;
  const m = new Fields(f.where, 'metadata.annotations', { [key]: s }).optMac(key);
  return m;
}

function readHostSubnet(f: Fields, base: ObjectBase): HostSubnetDoc {
  const host = f.str('host', 'the node name, equal to metadata.name');
  if (host !== base.name)
    f.fail('host', `${JSON.stringify(host)} must equal metadata.name ${JSON.stringify(base.name)}`);
  return {
    ...base,
    hostIP: f.unicastIp('hostIP'),
    subnet: f.optCidr('subnet'),
    egressIPs: f.unicastIpList('egressIPs'),
    egressCIDRs: f.cidrList('egressCIDRs'),
    nicMac: annotationMac(f, base.annotations, ANNOTATION_NIC_MAC),
    tun0Mac: annotationMac(f, base.annotations, ANNOTATION_TUN0_MAC),
  };
}

const NO_ENV: ReadonlyMap<string, { value: string; path: string }> = new Map();

function readContainer(c: Fields): ContainerDoc {
  c.allow(['name', 'ports', 'env'], CONTAINER_IGNORED);
  c.name('name');
  const ports = c.objList('ports').map((p) => {
    p.allow(['containerPort', 'protocol'], ['name', 'hostPort', 'hostIP']);
    return { protocol: p.oneOf('protocol', PROTOCOLS, 'TCP'), port: p.int('containerPort', 1, 65535) };
  });
  const list = c.objList('env');
  // Most containers have no env (or none packetwalk reads): one empty map for all of them.
  if (list.length === 0) return { path: c.path, ports, env: NO_ENV };
  const env = new Map<string, { value: string; path: string }>();
  for (const e of list) {
    e.allow(['name', 'value'], ['valueFrom']);
    const name = e.str('name');
    if (name.startsWith('EGRESS_') && e.has('valueFrom'))
      e.fail('valueFrom', `${name} from a ConfigMap or Secret is not supported (expected an inline value)`);
    env.set(name, { value: e.optStr('value') ?? '', path: e.at('value') });
  }
  return { path: c.path, ports, env };
}

function readPod(spec: Fields, f: Fields, base: ObjectBase): PodDoc {
  spec.allow(['nodeName', 'hostNetwork', 'containers', 'initContainers'], POD_SPEC_IGNORED);
  const containers = spec.objList('containers').map(readContainer);
  if (containers.length === 0) spec.fail('containers', 'required field is missing (expected at least one container)');
  const status = f.optObj('status'); // status fields other than podIP are not read and not checked
  return {
    ...base,
    nodeName: spec.str('nodeName', 'the name of a node (a HostSubnet); packetwalk does not schedule pods'),
    hostNetwork: spec.optBool('hostNetwork') ?? false,
    podIP: status?.optIp('podIP'),
    containers,
    initContainers: spec.objList('initContainers').map(readContainer),
  };
}

/** Rejects a field set to anything but the value whose behaviour packetwalk models. */
function onlyDefault(f: Fields, key: string, supported: string): void {
  const v = f.optStr(key);
  if (v !== undefined && v !== supported)
    f.fail(key, `${JSON.stringify(v)} is not supported by packetwalk (expected ${supported})`);
}

function readService(spec: Fields, f: Fields, base: ObjectBase): ServiceDoc {
  spec.allow(
    [
      'type',
      'clusterIP',
      'clusterIPs',
      'ports',
      'selector',
      'externalIPs',
      'sessionAffinity',
      'externalTrafficPolicy',
      'internalTrafficPolicy',
      'ipFamilies',
      'ipFamilyPolicy',
      'loadBalancerSourceRanges',
      'externalName',
    ],
    SERVICE_SPEC_IGNORED,
  );
  if (spec.optStr('type') === 'ExternalName' || spec.has('externalName'))
    spec.fail(
      'type',
      'ExternalName services are not supported by packetwalk (expected ClusterIP, NodePort or LoadBalancer)',
    );
  const type = spec.oneOf('type', ['ClusterIP', 'NodePort', 'LoadBalancer'] as const, 'ClusterIP');
  if (spec.optStr('clusterIP') === 'None')
    spec.fail(
      'clusterIP',
      'headless services (clusterIP: None) are not supported by packetwalk (expected an address in the service network)',
    );
  const clusterIP = spec.ip('clusterIP');
  for (const { value, path } of spec.strList('clusterIPs')) {
    if (parseIpAt(f.where, path, value) !== clusterIP) {
      throw new ConfigError(
        f.where.file,
        f.where.object,
        path,
        `${value} differs from spec.clusterIP ${spec.str('clusterIP')} (packetwalk is single-stack IPv4)`,
      );
    }
  }
  onlyDefault(spec, 'sessionAffinity', 'None');
  onlyDefault(spec, 'externalTrafficPolicy', 'Cluster');
  onlyDefault(spec, 'internalTrafficPolicy', 'Cluster');
  onlyDefault(spec, 'ipFamilyPolicy', 'SingleStack');
  for (const { value, path } of spec.strList('ipFamilies')) {
    if (value !== 'IPv4')
      throw new ConfigError(
        f.where.file,
        f.where.object,
        path,
        `${JSON.stringify(value)} is not supported by packetwalk (expected IPv4)`,
      );
  }
  if (spec.list('loadBalancerSourceRanges').length > 0)
    spec.fail('loadBalancerSourceRanges', 'not supported by packetwalk (expected none)');

  const ports = spec.objList('ports').map((p): ServicePortDoc => {
    p.allow(['name', 'protocol', 'port', 'targetPort', 'nodePort'], ['appProtocol']);
    const port = p.int('port', 1, 65535);
    const raw = p.raw('targetPort');
    let targetPort = port;
    if (typeof raw === 'string') {
      if (!/^\d+$/.test(raw))
        p.fail(
          'targetPort',
          `named target port ${JSON.stringify(raw)} is not supported by packetwalk (expected the container port number)`,
        );
      targetPort = +raw;
      if (targetPort < 1 || targetPort > 65535)
        p.fail('targetPort', `${targetPort} is out of range (expected 1..65535)`);
    } else if (raw !== undefined) {
      targetPort = p.int('targetPort', 1, 65535);
    }
    return {
      path: p.path,
      name: p.optStr('name'),
      protocol: p.oneOf('protocol', PROTOCOLS, 'TCP'),
      port,
      targetPort,
      nodePort: p.optInt('nodePort', 1, 65535),
    };
  });
  if (ports.length === 0) spec.fail('ports', 'required field is missing (expected at least one port)');

  const status = f.optObj('status'); // only status.loadBalancer.ingress[].ip is read
  const ingress = status?.optObj('loadBalancer')?.list('ingress') ?? [];
  const ingressIPs: Ipv4Address[] = [];
  for (const { value, path } of ingress) {
    const ip = Fields.of(f.where, path, value).optUnicastIp('ip');
    if (ip !== undefined) ingressIPs.push(ip);
  }
  return {
    ...base,
    type,
    clusterIP,
    ports,
    selector: spec.has('selector') ? spec.labels('selector') : undefined,
    externalIPs: spec.unicastIpList('externalIPs'),
    ingressIPs,
  };
}

function readEndpoints(f: Fields, base: ObjectBase): EndpointsDoc {
  const addresses: EndpointAddressDoc[] = [];
  let ports: EndpointsDoc['ports'] | undefined;
  for (const s of f.objList('subsets')) {
    // notReadyAddresses are not programmed by kube-proxy, so they are accepted and left out.
    s.allow(['addresses', 'ports'], ['notReadyAddresses']);
    for (const a of s.objList('addresses')) {
      a.allow(['ip', 'nodeName', 'targetRef'], ['hostname']);
      const ref = a
        .optObj('targetRef')
        ?.allow(['kind', 'namespace', 'name'], ['uid', 'resourceVersion', 'apiVersion', 'fieldPath']);
      let pod: EndpointAddressDoc['pod'];
      if (ref) {
        if (ref.str('kind') !== 'Pod')
          ref.fail('kind', `${JSON.stringify(ref.str('kind'))} is not supported (expected Pod)`);
        pod = { namespace: ref.optStr('namespace') ?? base.namespace, name: ref.str('name') };
      }
      addresses.push({ path: a.path, ip: a.unicastIp('ip'), nodeName: a.optStr('nodeName'), pod });
    }
    const subsetPorts = s.objList('ports').map((p) => {
      p.allow(['name', 'port', 'protocol'], ['appProtocol']);
      return { name: p.optStr('name'), protocol: p.oneOf('protocol', PROTOCOLS, 'TCP'), port: p.int('port', 1, 65535) };
    });
    const key = (ps: EndpointsDoc['ports']): string =>
      ps.map((p) => `${p.name ?? ''}/${p.protocol}/${p.port}`).join(',');
    if (ports !== undefined && key(ports) !== key(subsetPorts)) {
      s.fail(
        'ports',
        'subsets with different ports are not supported by packetwalk (expected every subset to list the same ports)',
      );
    }
    ports = subsetPorts;
  }
  return { ...base, addresses, ports: ports ?? [] };
}

/** openshift/api validation: an EgressNetworkPolicy has at most 50 rules. */
export const MAX_EGRESS_NETWORK_POLICY_RULES = 50;

function readEgressNetworkPolicy(spec: Fields, base: ObjectBase): EgressNetworkPolicyDoc {
  spec.allow(['egress']);
  const egress = spec.objList('egress');
  if (egress.length > MAX_EGRESS_NETWORK_POLICY_RULES)
    spec.fail('egress', `${egress.length} rules (expected at most ${MAX_EGRESS_NETWORK_POLICY_RULES})`);
  const rules = egress.map((r) => {
    r.allow(['type', 'to']);
    const type = r.oneOf('type', ['Allow', 'Deny'] as const);
    const to = r.obj('to').allow(['cidrSelector', 'dnsName']);
    if (to.has('dnsName'))
      to.fail(
        'dnsName',
        'dnsName rules are not supported by packetwalk (it has no DNS resolver; expected cidrSelector)',
      );
    return { type, cidrSelector: to.cidr('cidrSelector') };
  });
  return { ...base, rules };
}

function readSelector(f: Fields, key: string): Record<string, string> {
  const s = f.obj(key).allow(['matchLabels', 'matchExpressions']);
  if (s.list('matchExpressions').length > 0)
    s.fail('matchExpressions', 'not supported by packetwalk (expected matchLabels)');
  return s.labels('matchLabels');
}

function readPolicyRule(r: Fields, peersKey: 'from' | 'to'): NetworkPolicyRule {
  r.allow([peersKey, 'ports']);
  const peers = r.objList(peersKey).map((p): NetworkPolicyPeer => {
    p.allow(['podSelector', 'namespaceSelector', 'ipBlock']);
    const peer: NetworkPolicyPeer = {};
    if (p.has('podSelector')) peer.podSelector = readSelector(p, 'podSelector');
    if (p.has('namespaceSelector')) peer.namespaceSelector = readSelector(p, 'namespaceSelector');
    const block = p.optObj('ipBlock')?.allow(['cidr', 'except']);
    if (block) {
      const cidr = block.cidr('cidr');
      const except = block.cidrList('except');
      except.forEach((e, i) => {
        if (e.prefix < cidr.prefix || (e.network & cidr.mask) >>> 0 !== cidr.network) {
          block.fail(
            `except[${i}]`,
            `${block.strList('except')[i]!.value} is not inside ipBlock.cidr ${block.str('cidr')}`,
          );
        }
      });
      peer.ipBlock = { cidr, except };
    }
    if (!peer.podSelector && !peer.namespaceSelector && !peer.ipBlock)
      p.fail(undefined, 'empty peer (expected podSelector, namespaceSelector or ipBlock)');
    if (peer.ipBlock && (peer.podSelector || peer.namespaceSelector))
      p.fail('ipBlock', 'ipBlock cannot be combined with a selector in one peer');
    return peer;
  });
  const ports = r.objList('ports').map((p) => {
    p.allow(['protocol', 'port'], []);
    const raw = p.raw('port');
    if (typeof raw === 'string')
      p.fail('port', `named port ${JSON.stringify(raw)} is not supported by packetwalk (expected a number)`);
    if (raw === undefined)
      p.fail(
        'port',
        'required by packetwalk (a rule for every port of a protocol is not supported; expected a number)',
      );
    return { protocol: p.oneOf('protocol', PROTOCOLS, 'TCP'), port: p.int('port', 1, 65535) };
  });
  return { peers, ports };
}

function readNetworkPolicy(spec: Fields, base: ObjectBase): NetworkPolicyDoc {
  spec.allow(['podSelector', 'policyTypes', 'ingress', 'egress']);
  const podSelector = readSelector(spec, 'podSelector');
  const ingress = spec.objList('ingress').map((r) => readPolicyRule(r, 'from'));
  const egress = spec.objList('egress').map((r) => readPolicyRule(r, 'to'));
  let policyTypes: ('Ingress' | 'Egress')[];
  if (spec.has('policyTypes')) {
    policyTypes = spec.strList('policyTypes').map(({ value, path }) => {
      if (value !== 'Ingress' && value !== 'Egress')
        throw new ConfigError(
          spec.where.file,
          spec.where.object,
          path,
          `${JSON.stringify(value)} is not one of Ingress, Egress`,
        );
      return value;
    });
  } else {
    // Kubernetes default: Ingress always, Egress when egress rules are given.
    policyTypes = egress.length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
  }
  return { ...base, podSelector, policyTypes, ingress, egress };
}
