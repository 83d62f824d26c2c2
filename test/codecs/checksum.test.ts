import { describe, expect, it } from 'vitest';
import { ipv4, readU16, readU32, toHex, writeU16, writeU32 } from '../../codecs/bytes.js';
import { checksumUpdate16, checksumUpdate32, internetChecksum, sum16 } from '../../codecs/checksum.js';
import { emitIpv4, IPPROTO_TCP, IPPROTO_UDP, Ipv4View } from '../../codecs/ipv4.js';
import { emitTcp, TCP_SYN, TcpView } from '../../codecs/tcp.js';
import { emitUdp, udpChecksumUpdate16, udpChecksumUpdate32, UdpView } from '../../codecs/udp.js';
import { KERNEL_NAT_FORWARDED, KERNEL_NAT_REPLY_DELIVERED, KERNEL_NAT_REPLY_SENT } from './goldens.js';
import { prng, randBytes, randInt } from '../helpers/prng.js';

/** NAT as the kernel does it: rewrite addresses/ports of an IPv4+L4 packet at `ip`, patching checksums (RFC 1624). */
function natIncremental(b: Uint8Array, ip: number, src: number, dst: number, sport: number, dport: number): void {
  const v = new Ipv4View(b, ip);
  const l4 = v.payloadOffset;
  const oldSrc = v.src,
    oldDst = v.dst;
  v.checksum = checksumUpdate32(checksumUpdate32(v.checksum, oldSrc, src), oldDst, dst);
  v.src = src;
  v.dst = dst;
  const oldSport = readU16(b, l4),
    oldDport = readU16(b, l4 + 2);
  writeU16(b, l4, sport);
  writeU16(b, l4 + 2, dport);
  if (v.protocol === IPPROTO_TCP) {
    let c = readU16(b, l4 + 16);
    c = checksumUpdate32(checksumUpdate32(c, oldSrc, src), oldDst, dst);
    c = checksumUpdate16(checksumUpdate16(c, oldSport, sport), oldDport, dport);
    writeU16(b, l4 + 16, c);
  } else {
    let c = readU16(b, l4 + 6);
    c = udpChecksumUpdate32(udpChecksumUpdate32(c, oldSrc, src), oldDst, dst);
    c = udpChecksumUpdate16(udpChecksumUpdate16(c, oldSport, sport), oldDport, dport);
    writeU16(b, l4 + 6, c);
  }
}

/** The same rewrite with every checksum recomputed from scratch (UDP "none" stays none). */
function natFull(b: Uint8Array, ip: number, src: number, dst: number, sport: number, dport: number): void {
  const v = new Ipv4View(b, ip);
  const l4 = v.payloadOffset;
  v.src = src;
  v.dst = dst;
  writeU16(b, l4, sport);
  writeU16(b, l4 + 2, dport);
  v.fillChecksum();
  if (v.protocol === IPPROTO_TCP) new TcpView(b, l4).fillChecksum(src, dst, v.payloadLength);
  else if (readU16(b, l4 + 6) !== 0) new UdpView(b, l4).fillChecksum(src, dst);
}

/** A random IPv4 + TCP or UDP packet (UDP checksum "none" one time in five). */
function randomPacket(rand: () => number): Uint8Array {
  const tcp = rand() < 0.5;
  const payload = randBytes(rand, randInt(rand, 64));
  const l4Len = (tcp ? 20 : 8) + payload.length;
  const b = new Uint8Array(20 + l4Len);
  b.set(payload, 20 + (tcp ? 20 : 8));
  const src = randInt(rand, 2 ** 32),
    dst = randInt(rand, 2 ** 32);
  emitIpv4(
    {
      protocol: tcp ? IPPROTO_TCP : IPPROTO_UDP,
      src,
      dst,
      ttl: 1 + randInt(rand, 255),
      identification: randInt(rand, 65536),
    },
    b,
    0,
    l4Len,
  );
  if (tcp)
    emitTcp(
      {
        srcPort: randInt(rand, 65536),
        dstPort: randInt(rand, 65536),
        seq: randInt(rand, 2 ** 32),
        ack: randInt(rand, 2 ** 32),
        flags: randInt(rand, 512),
        window: randInt(rand, 65536),
      },
      b,
      20,
      payload.length,
      src,
      dst,
    );
  else
    emitUdp(
      { srcPort: randInt(rand, 65536), dstPort: randInt(rand, 65536), checksum: rand() < 0.2 ? 0 : undefined },
      b,
      20,
      payload.length,
      src,
      dst,
    );
  return b;
}

describe('RFC 1624 incremental checksum update', () => {
  it('reproduces the Linux DNAT + MASQUERADE of a SYN (TTL 64 -> 63, 10.131.0.40 -> 172.30.72.7 becomes 198.51.100.1 -> 10.128.2.24)', () => {
    // The SYN as the client sent it (kernelref `synth tcp --dst 172.30.72.7`), built here with full checksums.
    const b = new Uint8Array(40);
    emitIpv4(
      {
        identification: 0x1234,
        dontFragment: true,
        ttl: 64,
        protocol: IPPROTO_TCP,
        src: ipv4('10.131.0.40'),
        dst: ipv4('172.30.72.7'),
      },
      b,
      0,
      20,
    );
    emitTcp(
      { srcPort: 41000, dstPort: 1433, seq: 1000, ack: 0, flags: TCP_SYN, window: 64240 },
      b,
      20,
      0,
      ipv4('10.131.0.40'),
      ipv4('172.30.72.7'),
    );
    new Ipv4View(b, 0).decrementTtl();
    natIncremental(b, 0, ipv4('198.51.100.1'), ipv4('10.128.2.24'), 41000, 1433);
    expect(toHex(b)).toBe(toHex(KERNEL_NAT_FORWARDED, 14));
  });

  it('reproduces the Linux un-NAT of the SYN-ACK', () => {
    const b = KERNEL_NAT_REPLY_SENT.slice(14);
    new Ipv4View(b, 0).decrementTtl();
    natIncremental(b, 0, ipv4('172.30.72.7'), ipv4('10.131.0.40'), 1433, 41000);
    expect(toHex(b)).toBe(toHex(KERNEL_NAT_REPLY_DELIVERED, 14));
  });

  it('equals a full recompute for address and port rewrites of IPv4, TCP and UDP (property, 4000 packets)', () => {
    const rand = prng(1624);
    for (let i = 0; i < 4000; i++) {
      const a = randomPacket(rand);
      const b = a.slice();
      const args = [
        randInt(rand, 2 ** 32),
        randInt(rand, 2 ** 32),
        randInt(rand, 65536),
        randInt(rand, 65536),
      ] as const;
      natIncremental(a, 0, ...args);
      natFull(b, 0, ...args);
      if (toHex(a) !== toHex(b)) expect.fail(`packet ${i}: incremental ${toHex(a, 0, 40)} != full ${toHex(b, 0, 40)}`);
    }
  });

  it('keeps UDP\'s "0 is sent as 0xffff" rule when the rewritten datagram sums to zero', () => {
    const rand = prng(0xffff);
    for (let i = 0; i < 500; i++) {
      // Pick the rewrite, then choose two payload bytes so that the rewritten datagram's checksum computes to 0.
      const src = randInt(rand, 2 ** 32),
        dst = randInt(rand, 2 ** 32),
        sport = randInt(rand, 65536),
        dport = randInt(rand, 65536);
      const b = new Uint8Array(20 + 8 + 16);
      b.set(randBytes(rand, 14), 30);
      const origSrc = randInt(rand, 2 ** 32),
        origDst = randInt(rand, 2 ** 32),
        origSport = randInt(rand, 65536),
        origDport = randInt(rand, 65536);
      const after = b.slice();
      emitIpv4({ protocol: IPPROTO_UDP, src, dst }, after, 0, 24);
      emitUdp({ srcPort: sport, dstPort: dport }, after, 20, 16, src, dst);
      const c = readU16(after, 26) === 0xffff ? 0 : readU16(after, 26); // checksum with payload word 0
      b[28] = c >>> 8;
      b[29] = c & 0xff;
      emitIpv4({ protocol: IPPROTO_UDP, src: origSrc, dst: origDst }, b, 0, 24);
      emitUdp({ srcPort: origSport, dstPort: origDport }, b, 20, 16, origSrc, origDst);
      const full = b.slice();
      natIncremental(b, 0, src, dst, sport, dport);
      natFull(full, 0, src, dst, sport, dport);
      expect(readU16(full, 26)).toBe(0xffff);
      expect(readU16(b, 26)).toBe(0xffff);
      expect(new UdpView(b, 20).checksumValid(src, dst)).toBe(true);
    }
  });

  it('leaves a UDP checksum of 0 ("none") alone', () => {
    expect(udpChecksumUpdate32(0, 1, 2)).toBe(0);
    expect(udpChecksumUpdate16(0, 1, 2)).toBe(0);
  });

  it('decrementTtl equals a full recompute for every TTL (property)', () => {
    const rand = prng(64);
    for (let ttl = 0; ttl < 256; ttl++) {
      const b = new Uint8Array(20);
      emitIpv4(
        {
          protocol: randInt(rand, 256),
          ttl,
          src: randInt(rand, 2 ** 32),
          dst: randInt(rand, 2 ** 32),
          identification: randInt(rand, 65536),
        },
        b,
        0,
        0,
      );
      const v = new Ipv4View(b);
      v.decrementTtl();
      const got = v.checksum;
      v.fillChecksum();
      expect(got).toBe(v.checksum);
    }
  });
});

describe('internet checksum', () => {
  it('matches RFC 1071 section 3 example (sum of 00 01 f2 03 f4 f5 f6 f7 = 0x2ddf0 -> 0xddf2)', () => {
    const b = Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
    expect(sum16(b, 0, 8)).toBe(0x2ddf0);
    expect(internetChecksum(b, 0, 8)).toBe(~0xddf2 & 0xffff);
  });

  it('pads an odd trailing byte with zero', () => {
    expect(sum16(Uint8Array.from([0x12, 0x34, 0x56]), 0, 3)).toBe(0x1234 + 0x5600);
    expect(readU32(Uint8Array.from([0, 0, 0, 1]), 0)).toBe(1);
    const b = new Uint8Array(4);
    writeU32(b, 0, 0xdeadbeef);
    expect(toHex(b)).toBe('deadbeef');
  });
});
