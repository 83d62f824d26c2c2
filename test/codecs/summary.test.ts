import { describe, expect, it } from 'vitest';
import { ipv4, mac, MAC_BROADCAST } from '../../codecs/bytes.js';
import { ARP_REPLY, ARP_REQUEST, emitArp, type ArpHeader } from '../../codecs/arp.js';
import { emitEthernet, ETHERTYPE_ARP, ETHERTYPE_IPV4, type EthernetHeader } from '../../codecs/ethernet.js';
import { emitIcmp, type IcmpHeader } from '../../codecs/icmp.js';
import { emitIpv4, IPPROTO_ICMP, IPPROTO_UDP } from '../../codecs/ipv4.js';
import { summarize } from '../../codecs/summary.js';
import { emitUdp } from '../../codecs/udp.js';
import { KERNEL_NAT_REPLY_SENT, KERNEL_SYN, KERNEL_VXLAN, OVS_VXLAN } from './goldens.js';

const A = mac('0a:58:0a:83:00:28'),
  B = mac('0a:58:0a:80:02:18');
const ETH: EthernetHeader = { dst: B, src: A, ethertype: ETHERTYPE_IPV4 };

function arp(h: ArpHeader, dst: number): Uint8Array {
  const f = new Uint8Array(42);
  emitEthernet({ dst, src: h.senderMac, ethertype: ETHERTYPE_ARP }, f, 0);
  emitArp(h, f, 14);
  return f;
}

function icmp(h: IcmpHeader, data: Uint8Array): Uint8Array {
  const f = new Uint8Array(42 + data.length);
  emitEthernet(ETH, f, 0);
  emitIpv4({ protocol: IPPROTO_ICMP, src: ipv4('10.131.0.40'), dst: ipv4('10.128.2.24') }, f, 14, 8 + data.length);
  f.set(data, 42);
  emitIcmp(h, f, 34, data.length);
  return f;
}

describe('summarize (tcpdump -e -n -S style)', () => {
  it('prints a TCP SYN and a SYN-ACK', () => {
    expect(summarize(KERNEL_SYN)).toBe(
      '0a:58:0a:83:00:28 > 0a:58:0a:80:02:18, IPv4, 10.131.0.40.41000 > 10.128.2.24.1433: Flags [S], seq 1000, win 64240, length 0',
    );
    expect(summarize(KERNEL_NAT_REPLY_SENT)).toBe(
      '02:70:77:6b:00:05 > 02:70:77:6b:00:02, IPv4, 10.128.2.24.1433 > 198.51.100.1.41000: Flags [S.], seq 1592590337, ack 1001, win 65535, length 0',
    );
  });

  it('prints the outer part of a VXLAN frame first, then the inner frame', () => {
    expect(summarize(KERNEL_VXLAN)).toBe(
      '02:00:c0:a8:00:04 > 02:00:c0:a8:00:05, IPv4, 192.168.0.4.41918 > 192.168.0.5.4789: VXLAN, flags [I] (0x08), vni 7: ' +
        '0a:58:0a:83:00:28 > 0a:58:0a:80:02:18, IPv4, 10.131.0.40.41000 > 10.128.2.24.1433: Flags [S], seq 1000, win 64240, length 0',
    );
    expect(summarize(OVS_VXLAN)).toBe(
      '02:00:c0:a8:00:05 > 02:00:c0:a8:00:06, IPv4, 192.168.0.5.33963 > 192.168.0.6.4789: VXLAN, flags [I] (0x08), vni 0: ' +
        '00:00:0a:83:00:05 > 0a:58:0a:83:00:01, IPv4, 10.131.0.5.1234 > 10.129.2.7.5678: UDP, length 64',
    );
  });

  it('prints ARP requests and replies', () => {
    expect(
      summarize(
        arp(
          { op: ARP_REQUEST, senderMac: A, senderIp: ipv4('10.131.0.40'), targetMac: 0, targetIp: ipv4('10.128.2.24') },
          MAC_BROADCAST,
        ),
      ),
    ).toBe('0a:58:0a:83:00:28 > ff:ff:ff:ff:ff:ff, ARP, Request who-has 10.128.2.24 tell 10.131.0.40, length 28');
    expect(
      summarize(
        arp(
          { op: ARP_REPLY, senderMac: B, senderIp: ipv4('10.128.2.24'), targetMac: A, targetIp: ipv4('10.131.0.40') },
          A,
        ),
      ),
    ).toBe('0a:58:0a:80:02:18 > 0a:58:0a:83:00:28, ARP, Reply 10.128.2.24 is-at 0a:58:0a:80:02:18, length 28');
  });

  it('prints ICMP echo and errors', () => {
    expect(summarize(icmp({ type: 8, code: 0, identifier: 1, sequence: 1 }, new Uint8Array(56)))).toBe(
      '0a:58:0a:83:00:28 > 0a:58:0a:80:02:18, IPv4, 10.131.0.40 > 10.128.2.24: ICMP echo request, id 1, seq 1, length 64',
    );
    const quote = KERNEL_SYN.subarray(14, 42);
    expect(summarize(icmp({ type: 3, code: 4, nextHopMtu: 1450 }, quote))).toMatch(
      /: ICMP 10\.128\.2\.24 unreachable - need to frag \(mtu 1450\), length 36$/,
    );
    expect(summarize(icmp({ type: 3, code: 3 }, quote))).toMatch(
      /: ICMP 10\.128\.2\.24 tcp port 1433 unreachable, length 36$/,
    );
    expect(summarize(icmp({ type: 11, code: 0 }, quote))).toMatch(/: ICMP time exceeded in-transit, length 36$/);
  });

  it('prints a UDP datagram and an 802.1Q tag', () => {
    const f = new Uint8Array(18 + 20 + 8 + 5);
    emitEthernet({ ...ETH, vlan: { pcp: 3, dei: false, vid: 100 } }, f, 0);
    emitIpv4({ protocol: IPPROTO_UDP, src: ipv4('10.131.0.40'), dst: ipv4('172.30.0.10') }, f, 18, 13);
    emitUdp({ srcPort: 53000, dstPort: 53 }, f, 38, 5, ipv4('10.131.0.40'), ipv4('172.30.0.10'));
    expect(summarize(f)).toBe(
      '0a:58:0a:83:00:28 > 0a:58:0a:80:02:18, vlan 100, p 3, IPv4, 10.131.0.40.53000 > 172.30.0.10.53: UDP, length 5',
    );
  });

  it('prints what decoded plus a fault marker', () => {
    expect(summarize(KERNEL_SYN, 0, 30)).toBe('0a:58:0a:83:00:28 > 0a:58:0a:80:02:18, IPv4 [|ipv4: truncated at 14]');
    expect(summarize(OVS_VXLAN, 0, 60)).toBe(
      '02:00:c0:a8:00:05 > 02:00:c0:a8:00:06, IPv4, 192.168.0.5.33963 > 192.168.0.6.4789: VXLAN, flags [I] (0x08), vni 0 [|eth: truncated at 50]',
    );
    expect(summarize(KERNEL_SYN, 0, 5)).toBe('[|eth: truncated at 0]');
    const bad = Uint8Array.from(OVS_VXLAN);
    bad[42] = 0;
    expect(summarize(bad)).toMatch(
      /VXLAN, flags \[\.\] \(0x00\), vni 0: .* UDP, length 64 \[\|vxlan: bad-flags at 42\]$/,
    );
  });
});
