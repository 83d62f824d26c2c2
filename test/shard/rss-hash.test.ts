import { describe, expect, it } from 'vitest';
import { ipv4 } from '../../codecs/bytes.js';
import { RSS_KEY_MICROSOFT, RSS_KEY_SYMMETRIC, rssHashIpv4, rssQueue, toeplitzHash } from '../../src/shard/rss-hash.js';
import { SeededRandom } from '../../src/runtime/rng.js';

// Microsoft's "Verifying the RSS Hash Calculation" table (NdisHashFunctionToeplitz, IPv4), an independent source:
// destination address:port, source address:port, IPv4-only hash, IPv4-with-TCP hash.
const MICROSOFT_IPV4: [string, number, string, number, number, number][] = [
  ['161.142.100.80', 1766, '66.9.149.187', 2794, 0x323e8fc2, 0x51ccc178],
  ['65.69.140.83', 4739, '199.92.111.2', 14230, 0xd718262a, 0xc626b0ea],
  ['12.22.207.184', 38024, '24.19.198.95', 12898, 0xd2d0a5de, 0x5c2b394a],
  ['209.142.163.6', 2217, '38.27.205.30', 48228, 0x82989176, 0xafc7327f],
  ['202.188.127.2', 1303, '153.39.163.191', 44251, 0x5d1809c5, 0x10e828a2],
];

describe('RSS Toeplitz hash', () => {
  it.each(MICROSOFT_IPV4)(
    'matches the Microsoft verification table: %s:%d <- %s:%d',
    (dst, dport, src, sport, ipOnly, withTcp) => {
      expect(rssHashIpv4(RSS_KEY_MICROSOFT, ipv4(src), ipv4(dst), sport, dport, false)).toBe(ipOnly);
      expect(rssHashIpv4(RSS_KEY_MICROSOFT, ipv4(src), ipv4(dst), sport, dport)).toBe(withTcp);
    },
  );

  it('hashes raw input bytes (address pair only) and rejects a key too short for the input', () => {
    const input = Uint8Array.of(66, 9, 149, 187, 161, 142, 100, 80);
    expect(toeplitzHash(RSS_KEY_MICROSOFT, input)).toBe(0x323e8fc2);
    expect(() => toeplitzHash(RSS_KEY_MICROSOFT.subarray(0, 11), input)).toThrow(/needs a key of 12 bytes/);
  });

  it('is symmetric under the 0x6d5a key: both directions of a flow hash alike', () => {
    const r = new SeededRandom(7);
    for (let n = 0; n < 2000; n++) {
      const a = r.nextU32(),
        b = r.nextU32(),
        pa = r.int(0, 65535),
        pb = r.int(0, 65535);
      expect(rssHashIpv4(RSS_KEY_SYMMETRIC, b, a, pb, pa)).toBe(rssHashIpv4(RSS_KEY_SYMMETRIC, a, b, pa, pb));
    }
  });

  it('is not symmetric under the Microsoft key (the property comes from the key)', () => {
    const [dst, dport, src, sport] = MICROSOFT_IPV4[0]!;
    expect(rssHashIpv4(RSS_KEY_MICROSOFT, ipv4(dst), ipv4(src), dport, sport)).not.toBe(
      rssHashIpv4(RSS_KEY_MICROSOFT, ipv4(src), ipv4(dst), sport, dport),
    );
  });

  it('spreads the client ports of one pod pair evenly over 8 queues', () => {
    const counts = new Array<number>(8).fill(0);
    const a = ipv4('10.131.0.40'),
      b = ipv4('10.128.2.24');
    for (let port = 1024; port < 1024 + 8000; port++)
      counts[rssQueue(rssHashIpv4(RSS_KEY_SYMMETRIC, a, b, port, 1433), 8)]!++;
    for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(150);
  });
});
