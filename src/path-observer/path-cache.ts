/**
 * What the data path needs of a whole-walk cache (src/fastpath/): to be handed each frame a link transmits, and
 * either replay what the frame's walk did or let it walk. The emulation's builder injects one; without it every
 * frame walks.
 */

import type { PacketBuffer } from '../buffer/packet-buffer.js';

/** How a path cache has fared, like `ovs-appctl dpctl/show`'s hit/missed/lost. */
export interface PathCacheStats {
  /** Frames that replayed a recipe. */
  hits: number;
  /** Keyable frames that found no valid recipe and walked (recorded from the second miss of a key on). */
  misses: number;
  /** Recordings that became recipes. */
  stored: number;
  /** Recordings that could not. */
  vetoed: number;
}

export interface PathCache {
  readonly stats: PathCacheStats;
  /** Hand `pkt`, just transmitted on link `linkId`, to `next` (the link's far end): by a replay, or by a walk. */
  carry(linkId: number, pkt: PacketBuffer, next: { receiveFrame(pkt: PacketBuffer): void }): void;
}
