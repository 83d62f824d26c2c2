/**
 * Byte helpers shared by every codec: big-endian integer access on Uint8Array, IPv4 addresses as unsigned
 * 32-bit integers and MAC addresses as 48-bit integers (exact in a double), with string conversions for
 * config, traces and tests. Hot paths use the integer forms only.
 */

/** An IPv4 address as an unsigned 32-bit integer (10.0.0.1 = 0x0a000001). */
export type Ipv4Address = number;
/** A MAC address as an unsigned 48-bit integer (0a:58:0a:83:00:28 = 0x0a580a830028). */
export type MacAddress = number;

export const MAC_BROADCAST: MacAddress = 0xffffffffffff;

export function readU16(b: Uint8Array, o: number): number {
  return (b[o]! << 8) | b[o + 1]!;
}
export function writeU16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}
export function readU24(b: Uint8Array, o: number): number {
  return (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!;
}
export function writeU24(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 16) & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = v & 0xff;
}
export function readU32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}
/**
 * The same 32 bits as an int32: for hot paths, where a uint32 >= 2^31 passed on or kept in a field is a heap
 * number. Compare with `ip | 0`; `>>> 0` turns it back into a uint32.
 */
export function readI32(b: Uint8Array, o: number): number {
  return (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
}
export function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}
export function readMac(b: Uint8Array, o: number): MacAddress {
  return ((b[o]! << 8) | b[o + 1]!) * 0x100000000 + readU32(b, o + 2);
}
export function writeMac(b: Uint8Array, o: number, mac: MacAddress): void {
  const hi = Math.floor(mac / 0x100000000);
  b[o] = (hi >>> 8) & 0xff;
  b[o + 1] = hi & 0xff;
  writeU32(b, o + 2, mac >>> 0);
}

const DOTTED_QUAD =
  /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** Strict dotted-quad to integer; returns undefined for anything else (no octal, hex or short forms). */
export function tryParseIpv4(s: string): Ipv4Address | undefined {
  const m = DOTTED_QUAD.exec(s);
  if (!m) return undefined;
  return ((+m[1]! << 24) | (+m[2]! << 16) | (+m[3]! << 8) | +m[4]!) >>> 0;
}

/** Dotted-quad to integer; throws on anything that is not a plain dotted quad. */
export function ipv4(s: string): Ipv4Address {
  const v = tryParseIpv4(s);
  if (v === undefined) throw new Error(`not an IPv4 address: ${JSON.stringify(s)}`);
  return v;
}

export function ipv4ToString(a: Ipv4Address): string {
  return `${a >>> 24}.${(a >>> 16) & 0xff}.${(a >>> 8) & 0xff}.${a & 0xff}`;
}

/** Netmask for a prefix length (0..32) as an unsigned integer. */
export function prefixMask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** An IPv4 CIDR as integers. */
export interface Ipv4Cidr {
  network: Ipv4Address;
  prefix: number;
  mask: number;
}

/** Parse `a.b.c.d/n` (or a bare address = /32). Host bits must be zero unless `allowHostBits`. */
export function tryParseCidr(s: string, allowHostBits = false): Ipv4Cidr | undefined {
  const slash = s.indexOf('/');
  const addr = tryParseIpv4(slash < 0 ? s : s.slice(0, slash));
  if (addr === undefined) return undefined;
  let prefix = 32;
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    if (!/^(3[0-2]|[12]?\d)$/.test(p)) return undefined;
    prefix = +p;
  }
  const mask = prefixMask(prefix);
  if (!allowHostBits && (addr & ~mask) >>> 0 !== 0) return undefined;
  return { network: (addr & mask) >>> 0, prefix, mask };
}

export function cidr(s: string): Ipv4Cidr {
  const c = tryParseCidr(s);
  if (!c) throw new Error(`not an IPv4 CIDR: ${JSON.stringify(s)}`);
  return c;
}

export function cidrToString(c: Ipv4Cidr): string {
  return `${ipv4ToString(c.network)}/${c.prefix}`;
}

export function cidrContains(c: Ipv4Cidr, a: Ipv4Address): boolean {
  return (a & c.mask) >>> 0 === c.network;
}

const MAC_TEXT =
  /^([0-9a-fA-F]{2}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2}):([0-9a-fA-F]{2})$/;

export function tryParseMac(s: string): MacAddress | undefined {
  const m = MAC_TEXT.exec(s);
  if (!m) return undefined;
  let v = 0;
  for (let i = 1; i <= 6; i++) v = v * 256 + parseInt(m[i]!, 16);
  return v;
}

export function mac(s: string): MacAddress {
  const v = tryParseMac(s);
  if (v === undefined) throw new Error(`not a MAC address: ${JSON.stringify(s)}`);
  return v;
}

export function macToString(m: MacAddress): string {
  let s = '';
  for (let i = 5; i >= 0; i--) {
    const byte = Math.floor(m / 2 ** (8 * i)) & 0xff;
    s += (i === 5 ? '' : ':') + byte.toString(16).padStart(2, '0');
  }
  return s;
}

/** Lowercase hex of a byte range, no separators (tests and goldens). */
export function toHex(b: Uint8Array, start = 0, end = b.length): string {
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('hex');
}

/** Bytes from hex text; whitespace, colons and `#`/`//` comments are ignored (hand-checked goldens). */
export function fromHex(text: string): Buffer {
  const clean = text.replace(/(#|\/\/)[^\n]*/g, '').replace(/[\s:]/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(clean)) throw new Error('fromHex: odd length or non-hex characters');
  return Buffer.from(clean, 'hex');
}

/** Classic 16-bytes-per-line hexdump with offsets, for test failure messages and golden comments. */
export function hexdump(b: Uint8Array, start = 0, end = b.length): string {
  const lines: string[] = [];
  for (let o = start; o < end; o += 16) {
    const row = b.subarray(o, Math.min(o + 16, end));
    const hex = Array.from(row, (x) => x.toString(16).padStart(2, '0')).join(' ');
    const ascii = Array.from(row, (x) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : '.')).join('');
    lines.push(`${(o - start).toString(16).padStart(4, '0')}  ${hex.padEnd(47)}  ${ascii}`);
  }
  return lines.join('\n');
}
