/** A small hand-made cluster: two nodes, one namespace with an egress IP hosted on node-a, a NodePort service. */

import { cidr, ipv4, mac } from '../../codecs/bytes.js';
import type { Cluster } from '../../src/cluster/types.js';

export function smallCluster(): Cluster {
  return {
    network: {
      name: 'default',
      clusterNetwork: cidr('10.128.0.0/14'),
      hostSubnetLength: 9,
      serviceNetwork: cidr('172.30.0.0/16'),
      mode: 'networkpolicy',
      mtu: 1500,
      vxlanPort: 4789,
    },
    hostSubnets: [
      {
        name: 'node-a',
        hostIP: ipv4('192.168.0.4'),
        subnet: cidr('10.128.0.0/23'),
        egressIPs: [ipv4('192.168.0.100')],
        egressCIDRs: [],
        uid: 'a',
        nicMac: mac('02:00:c0:a8:00:04'),
        tun0Mac: mac('aa:00:00:00:00:04'),
      },
      {
        name: 'node-b',
        hostIP: ipv4('192.168.0.5'),
        subnet: cidr('10.129.0.0/23'),
        egressIPs: [],
        egressCIDRs: [],
        uid: 'b',
        nicMac: mac('02:00:c0:a8:00:05'),
        tun0Mac: mac('aa:00:00:00:00:05'),
      },
    ],
    netNamespaces: [
      { name: 'default', netid: 0, egressIPs: [], multicast: false },
      { name: 'app', netid: 0xab, egressIPs: [ipv4('192.168.0.100')], multicast: false },
    ],
    pods: [],
    services: [
      {
        namespace: 'app',
        name: 'web',
        type: 'NodePort',
        clusterIP: ipv4('172.30.82.94'),
        selector: { app: 'web' },
        externalIPs: [],
        ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080, nodePort: 30080 }],
      },
      {
        namespace: 'app',
        name: 'empty',
        type: 'ClusterIP',
        clusterIP: ipv4('172.30.5.5'),
        selector: { app: 'none' },
        externalIPs: [],
        ports: [{ protocol: 'UDP', port: 53, targetPort: 53 }],
      },
    ],
    endpoints: [
      {
        namespace: 'app',
        name: 'web',
        addresses: [
          { ip: ipv4('10.129.0.7'), node: 'node-b' },
          { ip: ipv4('10.128.0.6'), node: 'node-a' },
          { ip: ipv4('10.129.0.8'), node: 'node-b' },
        ],
        ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
      },
    ],
    egressNetworkPolicies: [],
    networkPolicies: [],
    underlay: {
      cidr: cidr('192.168.0.0/24'),
      gateway: ipv4('192.168.0.1'),
      gatewayMac: mac('02:00:c0:a8:00:01'),
      mtu: 1500,
    },
    externalHosts: [],
  };
}
