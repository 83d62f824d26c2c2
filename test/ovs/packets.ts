/** Test frames built byte by byte (independent of src/ovs): Ethernet + IPv4 + UDP/TCP/ICMP, and ARP. */
import { ipv4, mac, writeMac, writeU16, writeU32 } from '../../codecs/bytes.js';
import { finishChecksum, internetChecksum, pseudoHeaderSum, sum16 } from '../../codecs/checksum.js';
import { emitIpv4 } from '../../codecs/ipv4.js';
import { PacketBuffer } from '../../src/buffer/packet-buffer.js';

export interface IpFrameSpec {
  srcMac?: string;
  dstMac?: string;
  src: string;
  dst: string;
  proto?: 'udp' | 'tcp' | 'icmp';
  sport?: number;
  dport?: number;
  ttl?: number;
  payload?: number;
}

export function ipFrame(s: IpFrameSpec): Buffer {
  const proto = s.proto ?? 'udp';
  const l4len = (proto === 'tcp' ? 20 : 8) + (s.payload ?? 6);
  const b = Buffer.alloc(14 + 20 + l4len);
  writeMac(b, 0, mac(s.dstMac ?? '0a:58:0a:80:00:01'));
  writeMac(b, 6, mac(s.srcMac ?? '0a:58:0a:80:00:02'));
  writeU16(b, 12, 0x0800);
  const protoNum = proto === 'tcp' ? 6 : proto === 'udp' ? 17 : 1;
  const src = ipv4(s.src),
    dst = ipv4(s.dst);
  emitIpv4(
    { protocol: protoNum, src, dst, ttl: s.ttl ?? 64, identification: 0x1234, dontFragment: true },
    b,
    14,
    l4len,
  );
  const l4 = 34;
  for (let i = 0; i < (s.payload ?? 6); i++) b[l4 + l4len - (s.payload ?? 6) + i] = i + 1;
  if (proto === 'icmp') {
    b[l4] = 8;
    writeU16(b, l4 + 2, internetChecksum(b, l4, l4len));
    return b;
  }
  writeU16(b, l4, s.sport ?? 1234);
  writeU16(b, l4 + 2, s.dport ?? 80);
  if (proto === 'udp') {
    writeU16(b, l4 + 4, l4len);
    writeU16(b, l4 + 6, finishChecksum(sum16(b, l4, l4len, pseudoHeaderSum(src, dst, 17, l4len))) || 0xffff);
  } else {
    writeU32(b, l4 + 4, 1000);
    b[l4 + 12] = 5 << 4;
    b[l4 + 13] = 0x02;
    writeU16(b, l4 + 14, 65535);
    writeU16(b, l4 + 16, finishChecksum(sum16(b, l4, l4len, pseudoHeaderSum(src, dst, 6, l4len))));
  }
  return b;
}

export function arpFrame(op: number, sha: string, spa: string, tpa: string, tha = '00:00:00:00:00:00'): Buffer {
  const b = Buffer.alloc(42);
  writeMac(b, 0, op === 1 ? 0xffffffffffff : mac(tha));
  writeMac(b, 6, mac(sha));
  writeU16(b, 12, 0x0806);
  writeU16(b, 14, 1);
  writeU16(b, 16, 0x0800);
  b[18] = 6;
  b[19] = 4;
  writeU16(b, 20, op);
  writeMac(b, 22, mac(sha));
  writeU32(b, 28, ipv4(spa));
  writeMac(b, 32, mac(tha));
  writeU32(b, 38, ipv4(tpa));
  return b;
}

export function packet(frame: Uint8Array, inPort: number): PacketBuffer {
  const p = new PacketBuffer().load(frame);
  p.inPort = inPort;
  return p;
}

/** True when the IPv4 header checksum and the TCP/UDP checksum (full recompute) verify. */
export function checksumsValid(b: Uint8Array): boolean {
  if (internetChecksum(b, 14, 20) !== 0) return false;
  const proto = b[23]!;
  const total = (b[16]! << 8) | b[17]!;
  const l4len = total - 20;
  const src = ((b[26]! << 24) | (b[27]! << 16) | (b[28]! << 8) | b[29]!) >>> 0;
  const dst = ((b[30]! << 24) | (b[31]! << 16) | (b[32]! << 8) | b[33]!) >>> 0;
  if (proto === 17 || proto === 6)
    return finishChecksum(sum16(b, 34, l4len, pseudoHeaderSum(src, dst, proto, l4len))) === 0;
  return true;
}
