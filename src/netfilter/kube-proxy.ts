/**
 * The iptables rules kube-proxy (iptables mode, run inside openshift-sdn) installs on a node, built from the
 * cluster model the way k8s.io/kubernetes/pkg/proxy/iptables/proxier.go `syncProxyRules` does in the version
 * openshift/sdn vendors (k8s 1.21 era, discovery v1beta1):
 *
 * - nat KUBE-SERVICES: per service port `-d <clusterIP>/32 -p tcp -m comment --comment "ns/svc:port cluster IP"
 *   -m tcp --dport <port>`, first `! -s <clusterCIDR> ... -j KUBE-MARK-MASQ` (openshift-sdn configures the
 *   DetectLocalByCIDR local-traffic detector with the cluster network), then `... -j KUBE-SVC-<hash>`; the same for
 *   external IPs ("external IP"); LoadBalancer IPs go through KUBE-FW-<hash>; last, `-m addrtype --dst-type LOCAL
 *   -j KUBE-NODEPORTS`.
 * - KUBE-SVC-<hash>: one rule per endpoint, `-m statistic --mode random --probability 1/(n-i)` (printed with 11
 *   decimals, e.g. 0.33333333349), the last unconditional. KUBE-SEP-<hash>: `-s <ep>/32 -j KUBE-MARK-MASQ` (hairpin)
 *   then `-p tcp -m tcp -j DNAT --to-destination <ep>:<port>`.
 * - KUBE-MARK-MASQ `--or-mark <bit>`; KUBE-POSTROUTING returns unmarked packets, clears the bit (`--xor-mark`) and
 *   MASQUERADEs (`--random-fully` when iptables supports it, as RHCOS's does).
 * - filter: KUBE-SERVICES REJECTs services without endpoints; KUBE-FORWARD accepts marked and RELATED/ESTABLISHED.
 *
 * Chain names: `KUBE-SVC-` + the first 16 characters of base32(sha256(servicePortName + protocol)), where
 * servicePortName is `namespace/name:portName` (`namespace/name` when the port is unnamed) and protocol is lower
 * case (`tcp`); `KUBE-SEP-` adds the endpoint `ip:port` to the hashed string. kube-proxy walks Go maps, so its rule
 * order varies between syncs; here services are sorted by servicePortName and protocol, endpoints by `ip:port`
 * (as kube-proxy sorts them).
 */

import { createHash } from 'node:crypto';
import { cidrToString, ipv4ToString, type Ipv4Cidr } from '../../codecs/bytes.js';
import type { Cluster, Endpoints, Service, ServicePort } from '../cluster/types.js';
import { ruleFromArgs } from './iptables-restore.js';
import { appendRule, ensureChain, ensureTable, insertRule, type Ruleset, type TableName } from './rules.js';

export interface KubeProxyOptions {
  /** openshift-sdn's cluster network (the local-traffic detector). */
  clusterCIDR: Ipv4Cidr;
  /** iptables-masquerade-bit: 0 in OpenShift 4.x (CNO), 14 upstream. */
  masqueradeBit?: number;
  /** MASQUERADE --random-fully in KUBE-POSTROUTING (iptables supports it on RHCOS). Default true. */
  randomFully?: boolean;
  /** `cidr` (`! -s <clusterCIDR>`, this proxier version) or `interface` (`! -i tun0`, later openshift-sdn). */
  localDetector?: 'cidr' | 'interface';
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 with the standard alphabet (Go's base32.StdEncoding), without padding. */
function base32(bytes: Uint8Array): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const x of bytes) {
    acc = (acc << 8) | x;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(acc << (5 - bits)) & 31];
  return out;
}

function portProtoHash(s: string): string {
  return base32(createHash('sha256').update(s).digest()).slice(0, 16);
}

/** kube-proxy servicePortChainName: `KUBE-SVC-` + hash of "ns/name:port" + "tcp". */
export function servicePortChainName(servicePortName: string, protocol: string): string {
  return 'KUBE-SVC-' + portProtoHash(servicePortName + protocol);
}

/** kube-proxy serviceFirewallChainName (LoadBalancer IPs). */
export function serviceFirewallChainName(servicePortName: string, protocol: string): string {
  return 'KUBE-FW-' + portProtoHash(servicePortName + protocol);
}

/** kube-proxy servicePortEndpointChainName: `KUBE-SEP-` + hash of "ns/name:port" + "tcp" + "ip:port". */
export function servicePortEndpointChainName(servicePortName: string, protocol: string, endpoint: string): string {
  return 'KUBE-SEP-' + portProtoHash(servicePortName + protocol + endpoint);
}

/** ServicePortName.String(): `ns/name:port`, or `ns/name` for an unnamed port. */
export function servicePortName(svc: Service, port: ServicePort): string {
  return `${svc.namespace}/${svc.name}${port.name ? `:${port.name}` : ''}`;
}

/** kube-proxy's probability text for the i-th of n endpoint rules: 1/(n-i) as %0.10f. */
export function endpointProbability(n: number, i: number): string {
  return (1 / (n - i)).toFixed(10);
}

interface ServicePortInfo {
  svc: Service;
  port: ServicePort;
  name: string;
  protocol: string;
  endpoints: string[];
}

/** Endpoints of one service port: "ip:port" strings sorted as kube-proxy sorts them (byEndpoint). */
function endpointsFor(byService: Map<string, Endpoints>, svc: Service, port: ServicePort): string[] {
  const ep: Endpoints | undefined = byService.get(`${svc.namespace}/${svc.name}`);
  if (!ep) return [];
  const p = ep.ports.find((q) => (q.name ?? '') === (port.name ?? '') && q.protocol === port.protocol);
  if (!p) return [];
  return [...new Set(ep.addresses.map((a) => `${ipv4ToString(a.ip)}:${p.port}`))].sort();
}

/** Add kube-proxy's chains and rules for `cluster` to `rs` (its jumps go on top of the built-in chains). */
export function addKubeProxyRules(rs: Ruleset, cluster: Cluster, opts: KubeProxyOptions): void {
  // kube-proxy formats the mark "%#08x" (0x000001); iptables stores and prints it as 0x1.
  const mark = `0x${(1 << (opts.masqueradeBit ?? 0)).toString(16)}`;
  const cidr = cidrToString(opts.clusterCIDR);
  const ifNotLocal = opts.localDetector === 'interface' ? ['!', '-i', 'tun0'] : ['!', '-s', cidr];
  const add = (table: TableName, chain: string, args: string[]): void =>
    appendRule(rs, table, chain, ruleFromArgs(table, args));

  for (const t of ['mangle', 'filter', 'nat'] as const) ensureChain(rs, t, 'KUBE-PROXY-CANARY');
  for (const c of ['KUBE-SERVICES', 'KUBE-EXTERNAL-SERVICES', 'KUBE-FORWARD', 'KUBE-NODEPORTS'])
    ensureChain(rs, 'filter', c);
  for (const c of ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ', 'KUBE-MARK-DROP'])
    ensureChain(rs, 'nat', c);

  // iptablesJumpChains, each EnsureRule(Prepend): the last one listed ends up first.
  const jumps: [TableName, string, string, string, string[]][] = [
    [
      'filter',
      'KUBE-EXTERNAL-SERVICES',
      'INPUT',
      'kubernetes externally-visible service portals',
      ['-m', 'conntrack', '--ctstate', 'NEW'],
    ],
    [
      'filter',
      'KUBE-EXTERNAL-SERVICES',
      'FORWARD',
      'kubernetes externally-visible service portals',
      ['-m', 'conntrack', '--ctstate', 'NEW'],
    ],
    ['filter', 'KUBE-NODEPORTS', 'INPUT', 'kubernetes health check service ports', []],
    ['filter', 'KUBE-SERVICES', 'FORWARD', 'kubernetes service portals', ['-m', 'conntrack', '--ctstate', 'NEW']],
    ['filter', 'KUBE-SERVICES', 'OUTPUT', 'kubernetes service portals', ['-m', 'conntrack', '--ctstate', 'NEW']],
    ['filter', 'KUBE-FORWARD', 'FORWARD', 'kubernetes forwarding rules', []],
    ['nat', 'KUBE-SERVICES', 'OUTPUT', 'kubernetes service portals', []],
    ['nat', 'KUBE-SERVICES', 'PREROUTING', 'kubernetes service portals', []],
    ['nat', 'KUBE-POSTROUTING', 'POSTROUTING', 'kubernetes postrouting rules', []],
  ];
  for (const [table, dst, src, comment, extra] of jumps) {
    ensureTable(rs, table);
    insertRule(rs, table, src, ruleFromArgs(table, [...extra, '-m', 'comment', '--comment', comment, '-j', dst]));
  }

  add('nat', 'KUBE-POSTROUTING', ['-m', 'mark', '!', '--mark', `${mark}/${mark}`, '-j', 'RETURN']);
  add('nat', 'KUBE-POSTROUTING', ['-j', 'MARK', '--xor-mark', mark]);
  add('nat', 'KUBE-POSTROUTING', [
    '-m',
    'comment',
    '--comment',
    'kubernetes service traffic requiring SNAT',
    '-j',
    'MASQUERADE',
    ...((opts.randomFully ?? true) ? ['--random-fully'] : []),
  ]);
  add('nat', 'KUBE-MARK-MASQ', ['-j', 'MARK', '--or-mark', mark]);

  const infos: ServicePortInfo[] = [];
  // Endpoints by service (the first object of a name, as a search in file order finds it).
  const byService = new Map<string, Endpoints>();
  for (const e of cluster.endpoints)
    if (!byService.has(`${e.namespace}/${e.name}`)) byService.set(`${e.namespace}/${e.name}`, e);
  for (const svc of cluster.services) {
    for (const port of svc.ports) {
      const name = servicePortName(svc, port);
      infos.push({
        svc,
        port,
        name,
        protocol: port.protocol.toLowerCase(),
        endpoints: endpointsFor(byService, svc, port),
      });
    }
  }
  infos.sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : 0,
  );

  for (const { svc, port, name, protocol, endpoints } of infos) {
    const svcChain = servicePortChainName(name, protocol);
    const has = endpoints.length > 0;
    if (has) ensureChain(rs, 'nat', svcChain);
    const portMatch = (ip: number, p: number, comment: string): string[] => [
      '-m',
      'comment',
      '--comment',
      comment,
      '-m',
      protocol,
      '-p',
      protocol,
      '-d',
      `${ipv4ToString(ip)}/32`,
      '--dport',
      String(p),
    ];

    // Cluster IP.
    if (has) {
      const args = portMatch(svc.clusterIP, port.port, `${name} cluster IP`);
      add('nat', 'KUBE-SERVICES', [...args, ...ifNotLocal, '-j', 'KUBE-MARK-MASQ']);
      add('nat', 'KUBE-SERVICES', [...args, '-j', svcChain]);
    } else {
      add('filter', 'KUBE-SERVICES', [
        ...portMatch(svc.clusterIP, port.port, `${name} has no endpoints`),
        '-j',
        'REJECT',
      ]);
    }

    // External IPs (spec.externalIPs), or LoadBalancer ingress IPs through KUBE-FW.
    for (const ip of svc.externalIPs) {
      if (svc.type === 'LoadBalancer') {
        if (!has) {
          add('filter', 'KUBE-EXTERNAL-SERVICES', [
            ...portMatch(ip, port.port, `${name} has no endpoints`),
            '-j',
            'REJECT',
          ]);
          continue;
        }
        const fw = serviceFirewallChainName(name, protocol);
        ensureChain(rs, 'nat', fw);
        add('nat', 'KUBE-SERVICES', [...portMatch(ip, port.port, `${name} loadbalancer IP`), '-j', fw]);
        const fwArgs = ['-m', 'comment', '--comment', `${name} loadbalancer IP`];
        add('nat', fw, [...fwArgs, '-j', 'KUBE-MARK-MASQ']);
        add('nat', fw, [...fwArgs, '-j', svcChain]);
        add('nat', fw, [...fwArgs, '-j', 'KUBE-MARK-DROP']);
      } else if (has) {
        const args = portMatch(ip, port.port, `${name} external IP`);
        add('nat', 'KUBE-SERVICES', [...args, ...ifNotLocal, '-j', 'KUBE-MARK-MASQ']);
        add('nat', 'KUBE-SERVICES', [...args, '-j', svcChain]);
      } else {
        add('filter', 'KUBE-EXTERNAL-SERVICES', [
          ...portMatch(ip, port.port, `${name} has no endpoints`),
          '-j',
          'REJECT',
        ]);
      }
    }

    // NodePorts (nodePortAddresses unset = every local address).
    if (port.nodePort !== undefined && (svc.type === 'NodePort' || svc.type === 'LoadBalancer')) {
      const args = [
        '-m',
        'comment',
        '--comment',
        name,
        '-m',
        protocol,
        '-p',
        protocol,
        '--dport',
        String(port.nodePort),
      ];
      if (has) {
        add('nat', 'KUBE-NODEPORTS', [...args, '-j', 'KUBE-MARK-MASQ']);
        add('nat', 'KUBE-NODEPORTS', [...args, '-j', svcChain]);
      } else {
        add('filter', 'KUBE-EXTERNAL-SERVICES', [
          '-m',
          'comment',
          '--comment',
          `${name} has no endpoints`,
          '-m',
          'addrtype',
          '--dst-type',
          'LOCAL',
          '-m',
          protocol,
          '-p',
          protocol,
          '--dport',
          String(port.nodePort),
          '-j',
          'REJECT',
        ]);
      }
    }

    if (!has) continue;
    // Endpoint chains: probabilistic balancing, hairpin masquerade, DNAT.
    const n = endpoints.length;
    endpoints.forEach((ep, i) => {
      const sep = servicePortEndpointChainName(name, protocol, ep);
      ensureChain(rs, 'nat', sep);
      const balance = ['-m', 'comment', '--comment', name];
      if (i < n - 1) balance.push('-m', 'statistic', '--mode', 'random', '--probability', endpointProbability(n, i));
      add('nat', svcChain, [...balance, '-j', sep]);
      const epIp = ep.slice(0, ep.lastIndexOf(':'));
      add('nat', sep, ['-m', 'comment', '--comment', name, '-s', `${epIp}/32`, '-j', 'KUBE-MARK-MASQ']);
      add('nat', sep, [
        '-m',
        'comment',
        '--comment',
        name,
        '-m',
        protocol,
        '-p',
        protocol,
        '-j',
        'DNAT',
        '--to-destination',
        ep,
      ]);
    });
  }

  add('nat', 'KUBE-SERVICES', [
    '-m',
    'comment',
    '--comment',
    'kubernetes service nodeports; NOTE: this must be the last rule in this chain',
    '-m',
    'addrtype',
    '--dst-type',
    'LOCAL',
    '-j',
    'KUBE-NODEPORTS',
  ]);

  add('filter', 'KUBE-FORWARD', ['-m', 'conntrack', '--ctstate', 'INVALID', '-j', 'DROP']);
  add('filter', 'KUBE-FORWARD', [
    '-m',
    'comment',
    '--comment',
    'kubernetes forwarding rules',
    '-m',
    'mark',
    '--mark',
    `${mark}/${mark}`,
    '-j',
    'ACCEPT',
  ]);
  add('filter', 'KUBE-FORWARD', [
    '-m',
    'comment',
    '--comment',
    'kubernetes forwarding conntrack pod source rule',
    '-m',
    'conntrack',
    '--ctstate',
    'RELATED,ESTABLISHED',
    '-j',
    'ACCEPT',
  ]);
  add('filter', 'KUBE-FORWARD', [
    '-m',
    'comment',
    '--comment',
    'kubernetes forwarding conntrack pod destination rule',
    '-m',
    'conntrack',
    '--ctstate',
    'RELATED,ESTABLISHED',
    '-j',
    'ACCEPT',
  ]);
}
