import { describe, expect, it } from 'vitest';
import { fromHex, ipv4, mac, toHex } from '../../codecs/bytes.js';
import { DecodeError } from '../../codecs/errors.js';
import { emitEthernet, ETHERTYPE_IPV4 } from '../../codecs/ethernet.js';
import {
  emitIcmp,
  ICMP_DEST_UNREACH,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_FRAG_NEEDED,
  ICMP_TIME_EXCEEDED,
  icmpEncodingLength,
  IcmpView,
  parseIcmp,
  type IcmpHeader,
} from '../../codecs/icmp.js';
import { emitIpv4, IPPROTO_ICMP } from '../../codecs/ipv4.js';
import { KERNEL_SYN } from './goldens.js';
import { hasTshark, tsharkFields } from './tshark-helper.js';

// The classic Windows ping: type 8 | code 0 | checksum | id 1 | seq 1 | "abcdefghijklmnopqrstuvwabcdefghi".
// Hand sum of the 20 words with checksum 0: 0x6b29f -> fold 0xb29f + 0x6 = 0xb2a5 -> ~ = 0x4d5a.
const ECHO_DATA = Buffer.from('abcdefghijklmnopqrstuvwabcdefghi', 'ascii');
const ECHO: IcmpHeader = { type: ICMP_ECHO_REQUEST, code: 0, identifier: 1, sequence: 1 };
const ECHO_GOLDEN = '0800' + '4d5a' + '0001' + '0001' + ECHO_DATA.toString('hex');

// RFC 792 + RFC 1191 "fragmentation needed": 03 04 | checksum | unused 0000 | next-hop MTU 05aa (1450)
// | quoted IPv4 header of the Linux SYN + its first 8 bytes. Checksum by hand (python one-liner): 0x4da8.
const QUOTE = KERNEL_SYN.subarray(14, 14 + 28);
const FRAG_NEEDED: IcmpHeader = { type: ICMP_DEST_UNREACH, code: ICMP_FRAG_NEEDED, nextHopMtu: 1450 };
const FRAG_NEEDED_GOLDEN = '0304' + '4da8' + '0000' + '05aa' + toHex(QUOTE);

function emitWith(h: IcmpHeader, data: Uint8Array, at = 0, size = at + 8 + data.length): Uint8Array {
  const buf = new Uint8Array(size);
  buf.set(data, at + 8);
  expect(emitIcmp(h, buf, at, data.length)).toBe(8);
  return buf;
}

describe('icmp', () => {
  it('emits the golden echo request with a computed checksum', () => {
    expect(toHex(emitWith(ECHO, ECHO_DATA))).toBe(ECHO_GOLDEN);
  });

  it('emits the golden fragmentation-needed error with the next-hop MTU', () => {
    expect(toHex(emitWith(FRAG_NEEDED, QUOTE))).toBe(FRAG_NEEDED_GOLDEN);
  });

  it('writes zero rest bytes for time exceeded and an explicit checksum as given', () => {
    const te = emitWith({ type: ICMP_TIME_EXCEEDED, code: 0 }, QUOTE);
    expect(toHex(te, 4, 8)).toBe('00000000');
    expect(new IcmpView(te).checksumValid(te.length)).toBe(true);
    const bad = emitWith({ ...ECHO, checksum: 0xbeef }, ECHO_DATA);
    expect(toHex(bad, 2, 4)).toBe('beef');
    expect(new IcmpView(bad).checksumValid(bad.length)).toBe(false);
    expect(() => parseIcmp(bad)).toThrow(DecodeError);
  });

  it('emits identical bytes at a nonzero offset; encodingLength equals bytes written', () => {
    const b = emitWith(ECHO, ECHO_DATA, 33, 100);
    expect(toHex(b, 33, 33 + 8 + ECHO_DATA.length)).toBe(ECHO_GOLDEN);
    expect(icmpEncodingLength(ECHO)).toBe(8);
  });

  it('round trips emit -> parse -> emit', () => {
    const redirect: IcmpHeader = { type: 5, code: 1, rest: ipv4('10.0.0.1') };
    for (const [h, data] of [
      [ECHO, ECHO_DATA],
      [FRAG_NEEDED, QUOTE],
      [redirect, QUOTE],
      [{ type: ICMP_ECHO_REPLY, code: 0, identifier: 0xabcd, sequence: 7 }, ECHO_DATA],
    ] as const) {
      const a = emitWith(h, data);
      const parsed = parseIcmp(a);
      const b = emitWith(parsed, data);
      expect(toHex(b)).toBe(toHex(a));
    }
    expect(parseIcmp(fromHex(FRAG_NEEDED_GOLDEN))).toMatchObject({ type: 3, code: 4, nextHopMtu: 1450 });
  });

  it('view patches the identifier and refills the checksum', () => {
    const buf = fromHex(ECHO_GOLDEN);
    const v = new IcmpView(buf);
    expect([v.type, v.code, v.identifier, v.sequence, v.payloadOffset, v.isError]).toEqual([8, 0, 1, 1, 8, false]);
    v.identifier = 0x1234;
    expect(v.checksumValid(buf.length)).toBe(false);
    v.fillChecksum(buf.length);
    expect(v.checksumValid(buf.length)).toBe(true);
    expect(new IcmpView(fromHex(FRAG_NEEDED_GOLDEN)).isError).toBe(true);
  });

  it('faults on truncation', () => {
    for (let n = 0; n < 8; n++)
      expect(new IcmpView(fromHex(ECHO_GOLDEN)).check(n)).toMatchObject({
        layer: 'icmp',
        code: 'truncated',
        offset: 0,
      });
  });

  it.skipIf(!hasTshark)('tshark checks the emitted checksums and fields', () => {
    const frames = [
      [ECHO, ECHO_DATA],
      [FRAG_NEEDED, QUOTE],
    ].map(([h, data]) => {
      const icmpLen = 8 + (data as Uint8Array).length;
      const f = new Uint8Array(14 + 20 + icmpLen);
      emitEthernet({ dst: mac('0a:58:0a:80:02:18'), src: mac('0a:58:0a:83:00:28'), ethertype: ETHERTYPE_IPV4 }, f, 0);
      emitIpv4({ protocol: IPPROTO_ICMP, src: ipv4('10.131.0.40'), dst: ipv4('10.128.2.24') }, f, 14, icmpLen);
      f.set(data as Uint8Array, 42);
      emitIcmp(h as IcmpHeader, f, 34, (data as Uint8Array).length);
      return f;
    });
    const rows = tsharkFields(frames, [
      'icmp.type',
      'icmp.code',
      'icmp.checksum.status',
      'icmp.ident',
      'icmp.seq',
      'icmp.mtu',
    ]);
    expect(rows[0]).toMatchObject({
      'icmp.type': '8',
      'icmp.code': '0',
      'icmp.checksum.status': '1',
      'icmp.ident': '1',
      'icmp.seq': '1',
    });
    expect(rows[1]).toMatchObject({
      'icmp.type': '3',
      'icmp.code': '4',
      'icmp.checksum.status': '1',
      'icmp.mtu': '1450',
    });
  });
});
