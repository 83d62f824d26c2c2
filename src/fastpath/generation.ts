/**
 * The configuration generation: one counter every cached path (fast-path.ts) is stamped with. Anything that can
 * change where a packet goes or what is done to it — br0 flows and groups, iptables rules, routes, neighbours,
 * interfaces and their MTUs, capture taps — calls `configChanged()`, and every cached path is void at once.
 *
 * It is one counter for the whole process rather than one per emulation: bridges and netfilter instances do not
 * know which emulation they belong to, and a spurious invalidation only costs one slow walk.
 */

/** Read `GENERATION.value`; only `configChanged` writes it. */
export const GENERATION = { value: 1 };

/** Something a cached path may depend on changed. */
export function configChanged(): void {
  GENERATION.value++;
}
