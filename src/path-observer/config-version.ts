/**
 * The configuration version of one emulation, as Open vSwitch keeps `backer->need_revalidate` per datapath
 * backer: everything a cached walk may depend on — br0 flows and groups, iptables rules, routes, neighbours,
 * interfaces and their MTUs, capture taps — calls `changed()` on the version of the emulation it belongs to, and
 * every cache stamped with an older value (the fast path's recipes) is void at once.
 *
 * The emulation owns one and hands it to what it builds; a part built on its own (a bare Bridge in a test) makes
 * its own, which nobody else reads.
 */
export class ConfigVersion {
  /** Read freely; only `changed` writes it. */
  value = 1;

  /** Something a cached walk may depend on changed. */
  changed(): void {
    this.value++;
  }
}
