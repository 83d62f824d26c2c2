/**
 * The 50-byte outer header of a VXLAN frame (Ethernet, IPv4 without options, UDP, VXLAN) split into named
 * fields, so two encapsulations of the same inner frame can be compared field by field. Offsets are written out
 * here (RFC 791, 768, 7348) rather than taken from codecs/, which is the code under test.
 */

export interface OuterField {
  name: string;
  offset: number;
  length: number;
}

export const OUTER_FIELDS: readonly OuterField[] = [
  { name: 'eth.dst', offset: 0, length: 6 },
  { name: 'eth.src', offset: 6, length: 6 },
  { name: 'eth.type', offset: 12, length: 2 },
  { name: 'ip.version_ihl', offset: 14, length: 1 },
  { name: 'ip.tos', offset: 15, length: 1 },
  { name: 'ip.len', offset: 16, length: 2 },
  { name: 'ip.id', offset: 18, length: 2 },
  { name: 'ip.flags_frag', offset: 20, length: 2 },
  { name: 'ip.ttl', offset: 22, length: 1 },
  { name: 'ip.proto', offset: 23, length: 1 },
  { name: 'ip.checksum', offset: 24, length: 2 },
  { name: 'ip.src', offset: 26, length: 4 },
  { name: 'ip.dst', offset: 30, length: 4 },
  { name: 'udp.srcport', offset: 34, length: 2 },
  { name: 'udp.dstport', offset: 36, length: 2 },
  { name: 'udp.length', offset: 38, length: 2 },
  { name: 'udp.checksum', offset: 40, length: 2 },
  { name: 'vxlan.flags', offset: 42, length: 1 },
  { name: 'vxlan.reserved1', offset: 43, length: 3 },
  { name: 'vxlan.vni', offset: 46, length: 3 },
  { name: 'vxlan.reserved2', offset: 49, length: 1 },
];

export const OUTER_LEN = 50;

const hexOf = (b: Uint8Array, o: number, n: number): string => Buffer.from(b.subarray(o, o + n)).toString('hex');

/** Names of the outer fields that differ, plus `inner` when the encapsulated frames differ or lengths differ. */
export function outerDifferences(a: Uint8Array, b: Uint8Array): { field: string; a: string; b: string }[] {
  const out: { field: string; a: string; b: string }[] = [];
  for (const f of OUTER_FIELDS) {
    const x = hexOf(a, f.offset, f.length),
      y = hexOf(b, f.offset, f.length);
    if (x !== y) out.push({ field: f.name, a: x, b: y });
  }
  const ia = hexOf(a, OUTER_LEN, a.length),
    ib = hexOf(b, OUTER_LEN, b.length);
  if (ia !== ib) out.push({ field: 'inner', a: ia, b: ib });
  return out;
}

/** True when the outer IPv4 header checksum (bytes 14..33) verifies. */
export function outerIpChecksumOk(f: Uint8Array): boolean {
  let s = 0;
  for (let i = 14; i < 34; i += 2) s += (f[i]! << 8) | f[i + 1]!;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s === 0xffff;
}

export function udpSourcePort(f: Uint8Array): number {
  return (f[34]! << 8) | f[35]!;
}

/** True when the outer UDP checksum verifies over the pseudo-header and datagram (false for a zero checksum). */
export function outerUdpChecksumOk(f: Uint8Array): boolean {
  const udpLen = (f[38]! << 8) | f[39]!;
  let s = 17 + udpLen;
  for (let i = 26; i < 34; i += 2) s += (f[i]! << 8) | f[i + 1]!;
  for (let i = 34; i < 34 + udpLen; i += 2) s += (f[i]! << 8) | (i + 1 < 34 + udpLen ? f[i + 1]! : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ((f[40]! << 8) | f[41]!) !== 0 && s === 0xffff;
}
