/**
 * The two address allocators a real cluster runs, reimplemented so that objects a file leaves without an address
 * get the one OpenShift would have given them on a fresh cluster:
 *  - the SDN master's HostSubnet allocator (openshift/sdn `pkg/network/master/util/subnet_allocator.go`);
 *  - the `host-local` IPAM plugin the SDN CNI plugin calls for pod IPs (CNI plugins `ipam/host-local`).
 */

import { prefixMask, type Ipv4Address, type Ipv4Cidr } from '../../codecs/bytes.js';

/**
 * Hands out node subnets of `32 - hostBits` bits from the cluster network, in OpenShift's order.
 *
 * When the subnet number straddles an octet (hostBits not a multiple of 8), the SDN master rotates the subnet
 * number's bits so that subnets with all zeros in the shared octet come first, which keeps the addresses readable:
 * with 10.128.0.0/14 and hostBits 9 the order is 10.128.0.0/23, 10.129.0.0/23, 10.130.0.0/23, 10.131.0.0/23,
 * 10.128.2.0/23, 10.129.2.0/23, ... The search starts after the last subnet handed out and skips subnets marked
 * as taken (existing HostSubnets), as the master does after a restart.
 */
export class HostSubnetAllocator {
  private readonly subnetBits: number;
  private readonly count: number;
  /** Bits of the subnet number moved up by the rotation; 0 = no rotation. */
  private readonly rotate: number;
  private readonly taken = new Set<number>();
  private next = 0;

  constructor(
    private readonly clusterNetwork: Ipv4Cidr,
    private readonly hostBits: number,
  ) {
    this.subnetBits = 32 - clusterNetwork.prefix - hostBits;
    // The real allocator caps the count at 2^24 so its uint32 arithmetic cannot overflow; same here.
    this.count = 2 ** Math.min(this.subnetBits, 24);
    const straddles = Math.floor((hostBits - 1) / 8) !== Math.floor((hostBits + this.subnetBits - 1) / 8);
    this.rotate = hostBits % 8 !== 0 && straddles ? 8 - (hostBits % 8) : 0;
  }

  /** The n-th subnet in allocation order (0-based). */
  subnetAt(n: number): Ipv4Cidr {
    let base = n;
    if (this.rotate !== 0) {
      // Move the low bits up by `rotate` and bring the bits pushed out of the top back in at the bottom.
      const low = (n * 2 ** this.rotate) % 2 ** this.subnetBits;
      const high = Math.floor(n / 2 ** (this.subnetBits - this.rotate)) % 2 ** this.rotate;
      base = low + high;
    }
    const network = (this.clusterNetwork.network + base * 2 ** this.hostBits) >>> 0;
    const prefix = 32 - this.hostBits;
    return { network, prefix, mask: prefixMask(prefix) };
  }

  /** Marks an existing HostSubnet's subnet as in use. */
  markTaken(subnet: Ipv4Cidr): void {
    this.taken.add(subnet.network);
  }

  /** The next free subnet, or undefined when the cluster network is full. */
  allocate(): Ipv4Cidr | undefined {
    for (let i = 0; i < this.count; i++) {
      const n = (i + this.next) % this.count;
      const subnet = this.subnetAt(n);
      if (this.taken.has(subnet.network)) continue;
      this.taken.add(subnet.network);
      this.next = n + 1;
      return subnet;
    }
    this.next = 0;
    return undefined;
  }
}

/**
 * Pod IPs in one node subnet, as `host-local` hands them out: the gateway (.1) and the network and broadcast
 * addresses are never given; the range is .2 .. broadcast-1; each allocation continues forward from the last one
 * and wraps once, skipping reserved addresses (it does not go back to reuse the lowest free one).
 */
export class HostLocalIpam {
  private readonly first: number;
  private readonly lastInRange: number;
  private readonly reserved = new Set<number>();
  private last: number | undefined;

  constructor(subnet: Ipv4Cidr) {
    const broadcast = (subnet.network | ~subnet.mask) >>> 0;
    this.first = subnet.network + 2;
    this.lastInRange = broadcast - 1;
  }

  /** Marks an address a file gave explicitly as in use. */
  reserve(ip: Ipv4Address): void {
    this.reserved.add(ip);
  }

  /** The next free address, or undefined when the subnet is full. */
  allocate(): Ipv4Address | undefined {
    const size = this.lastInRange - this.first + 1;
    const start = this.last === undefined ? this.first : this.last + 1;
    for (let i = 0; i < size; i++) {
      let ip = start + i;
      if (ip > this.lastInRange) ip -= size;
      if (this.reserved.has(ip)) continue;
      this.reserved.add(ip);
      this.last = ip;
      return ip;
    }
    return undefined;
  }
}
