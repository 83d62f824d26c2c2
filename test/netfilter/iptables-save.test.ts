import { describe, expect, it } from 'vitest';
import { iptablesSave, saveString } from '../../src/netfilter/iptables-save.js';
import { IptablesParseError, parseIptablesSave } from '../../src/netfilter/iptables-restore.js';

// Input written with the shorthands people type; EXPECTED is what iptables-nft-save v1.8.9 printed after
// iptables-nft-restore loaded INPUT in a scratch network namespace (legacy printed the same rules; only its
// table order differed), with the "# Generated/Completed" lines removed.
const INPUT = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:OPENSHIFT-NOTRACK - [0:0]
-A PREROUTING -m comment --comment "disable conntrack for vxlan" -j OPENSHIFT-NOTRACK
-A OPENSHIFT-NOTRACK -p udp --dport 4789 -j NOTRACK
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:ZZZ - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-POSTROUTING - [0:0]
-A KUBE-MARK-MASQ -j MARK --or-mark 0x1
-A KUBE-POSTROUTING -m mark ! --mark 0x1/0x1 -j RETURN
-A KUBE-POSTROUTING -j MARK --xor-mark 0x1
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-SERVICES -m comment --comment "default/web:http cluster IP" -m tcp -p tcp -d 172.30.0.10 --dport 80 ! -s 10.128.0.0/14 -j KUBE-MARK-MASQ
-A KUBE-SERVICES -m comment --comment "default/web:http" -m statistic --mode random --probability 0.3333333333 -j ZZZ
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j ZZZ
-A ZZZ -m comment --comment abc_d-1 -m tcp -p tcp -j DNAT --to-destination 10.128.2.5:8080
-A ZZZ -s 10.128.0.0/14 -m mark --mark 0x010000aa -j SNAT --to-source 192.168.0.10
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:B - [0:0]
:C - [0:0]
-A B -p tcp -m tcp --dport 22623 --syn -j REJECT
-A B -d 1.2.3.4 -m conntrack --ctstate NEW -j REJECT
-A B -m conntrack --ctstate RELATED,ESTABLISHED,INVALID -j ACCEPT
-A FORWARD -i tun0 ! -o tun0 -m comment --comment "administrator overrides" -j B
-A B -p udp -m udp --dport 4789 -m comment --comment "VXLAN incoming" -j ACCEPT
-A B -g C
-A B -p icmp -j ACCEPT
-A B -p tcp --sport 1000:2000 -j ACCEPT
-A B -j MARK --set-mark 0x5
-A B -j MARK --set-xmark 0x5/0xff
COMMIT
`;

const EXPECTED = `*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:OPENSHIFT-NOTRACK - [0:0]
-A PREROUTING -m comment --comment "disable conntrack for vxlan" -j OPENSHIFT-NOTRACK
-A OPENSHIFT-NOTRACK -p udp -m udp --dport 4789 -j NOTRACK
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:B - [0:0]
:C - [0:0]
-A FORWARD -i tun0 ! -o tun0 -m comment --comment "administrator overrides" -j B
-A B -p tcp -m tcp --dport 22623 --tcp-flags FIN,SYN,RST,ACK SYN -j REJECT --reject-with icmp-port-unreachable
-A B -d 1.2.3.4/32 -m conntrack --ctstate NEW -j REJECT --reject-with icmp-port-unreachable
-A B -m conntrack --ctstate INVALID,RELATED,ESTABLISHED -j ACCEPT
-A B -p udp -m udp --dport 4789 -m comment --comment "VXLAN incoming" -j ACCEPT
-A B -g C
-A B -p icmp -j ACCEPT
-A B -p tcp -m tcp --sport 1000:2000 -j ACCEPT
-A B -j MARK --set-xmark 0x5/0xffffffff
-A B -j MARK --set-xmark 0x5/0xff
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-SERVICES - [0:0]
:ZZZ - [0:0]
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x1/0x1
-A KUBE-POSTROUTING -m mark ! --mark 0x1/0x1 -j RETURN
-A KUBE-POSTROUTING -j MARK --set-xmark 0x1/0x0
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-SERVICES ! -s 10.128.0.0/14 -d 172.30.0.10/32 -p tcp -m comment --comment "default/web:http cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ
-A KUBE-SERVICES -m comment --comment "default/web:http" -m statistic --mode random --probability 0.33333333349 -j ZZZ
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j ZZZ
-A ZZZ -p tcp -m comment --comment abc_d-1 -m tcp -j DNAT --to-destination 10.128.2.5:8080
-A ZZZ -s 10.128.0.0/14 -m mark --mark 0x10000aa -j SNAT --to-source 192.168.0.10
COMMIT
`;

function withoutComments(s: string): string {
  return s
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
}

describe('iptables-save / iptables-restore text', () => {
  it('normalises shorthand input exactly as iptables 1.8.9 does', () => {
    expect(withoutComments(iptablesSave(parseIptablesSave(INPUT)))).toBe(EXPECTED);
  });

  it('round trips its own output', () => {
    const once = iptablesSave(parseIptablesSave(EXPECTED));
    expect(iptablesSave(parseIptablesSave(once))).toBe(once);
    expect(withoutComments(once)).toBe(EXPECTED);
  });

  it('prints the generated/completed comment lines around each table', () => {
    const text = iptablesSave(parseIptablesSave('*nat\n:PREROUTING ACCEPT [3:180]\nCOMMIT\n'), {
      date: 'Thu Jan  1 00:00:00 2026',
    });
    expect(text).toBe(
      [
        '# Generated by iptables-save v1.8.9 (packetwalk) on Thu Jan  1 00:00:00 2026',
        '*nat',
        ':PREROUTING ACCEPT [3:180]',
        ':INPUT ACCEPT [0:0]',
        ':OUTPUT ACCEPT [0:0]',
        ':POSTROUTING ACCEPT [0:0]',
        'COMMIT',
        '# Completed on Thu Jan  1 00:00:00 2026',
        '',
      ].join('\n'),
    );
  });

  it('quotes comments the way xtables_save_string does', () => {
    expect(saveString('abc_d-1')).toBe('abc_d-1');
    expect(saveString('ns/svc:http')).toBe('"ns/svc:http"');
    expect(saveString('say "hi"')).toBe('"say \\"hi\\""');
  });

  it('names the line of anything it cannot model', () => {
    const bad: [string, number, RegExp][] = [
      [
        '*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -m recent --rcheck -j DROP\nCOMMIT\n',
        3,
        /cannot model match "-m recent"/,
      ],
      ['*filter\n:INPUT ACCEPT [0:0]\n\n-A INPUT -j LOG --log-prefix x\nCOMMIT\n', 4, /cannot model target "LOG"/],
      ['*filter\n:INPUT ACCEPT [0:0]\n-A NOPE -j ACCEPT\nCOMMIT\n', 3, /chain "NOPE" does not exist/],
      ['*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j MISSING\nCOMMIT\n', 3, /unknown target or chain "MISSING"/],
      ['*filter\n:INPUT ACCEPT [0:0]\n-A INPUT --dport 80 -j ACCEPT\nCOMMIT\n', 3, /needs -p tcp/],
      [
        '*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j DNAT --to-destination 10.0.0.1-10.0.0.9\nCOMMIT\n',
        3,
        /cannot model NAT target/,
      ],
      ['*mangle\n:PREROUTING ACCEPT [0:0]\n', 1, /no COMMIT/],
    ];
    for (const [text, line, re] of bad) {
      let err: unknown;
      try {
        parseIptablesSave(text);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(IptablesParseError);
      expect((err as IptablesParseError).line).toBe(line);
      expect((err as Error).message).toMatch(re);
    }
  });
});
