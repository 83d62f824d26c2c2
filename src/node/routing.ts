/**
 * A kernel routing table: longest-prefix match over a handful of routes (a pod has five, a node four or five),
 * so a sorted array beats any index. Routes print like `ip route`.
 */

import { cidrToString, ipv4ToString, type Ipv4Address, type Ipv4Cidr } from '../../codecs/bytes.js';
import type { NetInterface } from '../ports/net-interface.js';
import { ConfigVersion } from '../path-observer/config-version.js';

/** 127.0.0.1, the loopback device's address. */
export const LOOPBACK_IP = 0x7f000001;

export interface Route {
  dst: Ipv4Cidr;
  /** Gateway; undefined for on-link routes. */
  via?: Ipv4Address;
  dev: NetInterface;
  /** Preferred source address (`src`), else the device's primary address. */
  src?: Ipv4Address;
  scope?: 'link' | 'global';
  /** Origin of the route, for `ip route` output: `kernel` for connected routes. */
  proto?: 'kernel' | 'static';
  /** MTU override (`mtu N`). */
  mtu?: number;
  /** `route 10.128.0.0/14 dev eth0`: the capture comment of frames this route sends (built once, stack.ts). */
  hopReason?: string;
  /**
   * `via` as int32, 0 for on-link routes; set by RoutingTable.add. The hot path reads this instead of `via`:
   * routes are literals of several shapes, and loading a uint32 `via` from them produced a heap number per packet.
   */
  gatewayI32?: number;
}

export class RoutingTable {
  private routes: Route[] = [];

  /** `config`: the emulation's configuration version, bumped by every change (a table on its own has its own). */
  constructor(private readonly config = new ConfigVersion()) {}

  add(r: Route): void {
    this.config.changed();
    r.gatewayI32 = r.via !== undefined ? r.via | 0 : 0;
    this.routes.push(r);
    // Longest prefix first; equal prefixes keep insertion order (first added wins, like the main table's metric 0).
    this.routes.sort((a, b) => b.dst.prefix - a.dst.prefix);
  }

  remove(dst: Ipv4Cidr, dev?: NetInterface): void {
    this.config.changed();
    this.routes = this.routes.filter(
      (r) => !(r.dst.network === dst.network && r.dst.prefix === dst.prefix && (!dev || r.dev === dev)),
    );
  }

  /** Longest-prefix match; `ip` as uint32 or int32 (compared as int32: no heap number per lookup). */
  lookup(ip: Ipv4Address): Route | undefined {
    const rs = this.routes;
    for (let i = 0; i < rs.length; i++) {
      const r = rs[i]!;
      if ((ip & r.dst.mask) === (r.dst.network | 0)) return r;
    }
    return undefined;
  }

  list(): readonly Route[] {
    return this.routes;
  }

  /** `ip route` text. */
  format(): string {
    return this.routes
      .map((r) => {
        const dst = r.dst.prefix === 0 ? 'default' : cidrToString(r.dst);
        let s = dst;
        if (r.via !== undefined) s += ` via ${ipv4ToString(r.via)}`;
        s += ` dev ${r.dev.name}`;
        if (r.proto) s += ` proto ${r.proto}`;
        if (r.scope === 'link') s += ' scope link';
        if (r.src !== undefined) s += ` src ${ipv4ToString(r.src)}`;
        if (r.mtu !== undefined) s += ` mtu ${r.mtu}`;
        return s;
      })
      .join('\n');
  }
}
