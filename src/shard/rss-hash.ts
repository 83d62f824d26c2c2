/**
 * Receive Side Scaling as a NIC does it: a Toeplitz hash of the IPv4 4-tuple picks an entry of a 128-entry
 * indirection table, and the entry names the queue (here: the shard) that handles the flow.
 *
 * Toeplitz (Microsoft RSS spec, "Verifying the RSS Hash Calculation"): for every set bit i of the input,
 * counted from the most significant bit of byte 0, XOR into the result the 32 key bits that start at bit i.
 * The input is source address, destination address, source port, destination port, all in network order.
 *
 * With a key whose bits repeat every 16 (0x6d5a 0x6d5a ...), swapping the two addresses (32-bit fields) and the
 * two ports (16-bit fields) leaves the hash unchanged, so both directions of a flow land in the same queue
 * (Woo and Park, "Scalable TCP Session Monitoring with Symmetric Receive-side Scaling", 2012).
 */

import type { Ipv4Address } from '../../codecs/bytes.js';

/** The key of Microsoft's verification table (and the default of many NIC drivers). */
export const RSS_KEY_MICROSOFT = Uint8Array.of(
  0x6d,
  0x5a,
  0x56,
  0xda,
  0x25,
  0x5b,
  0x0e,
  0xc2,
  0x41,
  0x67,
  0x25,
  0x3d,
  0x43,
  0xa3,
  0x8f,
  0xb0,
  0xd0,
  0xca,
  0x2b,
  0xcb,
  0xae,
  0x7b,
  0x30,
  0xb4,
  0x77,
  0xcb,
  0x2d,
  0xa3,
  0x80,
  0x30,
  0xf2,
  0x0c,
  0x6a,
  0x42,
  0xb7,
  0x3b,
  0xbe,
  0xac,
  0x01,
  0xfa,
);

/** A 40-byte key of 0x6d5a repeated: the symmetric RSS key (both directions of a flow hash alike). */
export const RSS_KEY_SYMMETRIC = Uint8Array.from({ length: 40 }, (_, i) => (i & 1 ? 0x5a : 0x6d));

/** Entries in the indirection table (Intel and Mellanox NICs use 128 by default: the hash's low 7 bits). */
export const RSS_TABLE_SIZE = 128;

/** Toeplitz hash of `input[0, length)` under `key` (needs length + 4 key bytes), as a uint32. */
export function toeplitzHash(key: Uint8Array, input: Uint8Array, length = input.length): number {
  if (key.length < length + 4)
    throw new Error(`toeplitz: a ${length}-byte input needs a key of ${length + 4} bytes, got ${key.length}`);
  let result = 0;
  // `window` holds key bits [i, i + 32); each input bit shifts one more key bit in.
  let window = (key[0]! << 24) | (key[1]! << 16) | (key[2]! << 8) | key[3]! | 0;
  for (let byte = 0; byte < length; byte++) {
    const next = key[byte + 4]!;
    const b = input[byte]!;
    for (let bit = 7; bit >= 0; bit--) {
      if ((b >>> bit) & 1) result ^= window;
      window = (window << 1) | ((next >>> bit) & 1);
    }
  }
  return result >>> 0;
}

const tuple = new Uint8Array(12);

/**
 * RSS hash of an IPv4 TCP/UDP 4-tuple (NdisHashFunctionToeplitz over src ip, dst ip, src port, dst port). Pass
 * ports 0 and `withPorts` false for the IPv4-only hash (ICMP, fragments).
 */
export function rssHashIpv4(
  key: Uint8Array,
  src: Ipv4Address,
  dst: Ipv4Address,
  srcPort: number,
  dstPort: number,
  withPorts = true,
): number {
  const t = tuple;
  t[0] = src >>> 24;
  t[1] = src >>> 16;
  t[2] = src >>> 8;
  t[3] = src;
  t[4] = dst >>> 24;
  t[5] = dst >>> 16;
  t[6] = dst >>> 8;
  t[7] = dst;
  t[8] = srcPort >>> 8;
  t[9] = srcPort;
  t[10] = dstPort >>> 8;
  t[11] = dstPort;
  return toeplitzHash(key, t, withPorts ? 12 : 8);
}

/** The queue of a hash through a 128-entry indirection table filled round robin (entry e -> queue e mod queues). */
export function rssQueue(hash: number, queues: number): number {
  return (hash & (RSS_TABLE_SIZE - 1)) % queues;
}
