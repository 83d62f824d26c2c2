/**
 * Throwaway network namespaces for kernel cross-checks (the recipe of shared/tools/kernelref, written anew).
 * Names are `pw-<pid>-<role>`; every namespace is deleted in `destroy()` and, as a last resort, when the process
 * exits. Devices, addresses, routes and rules are only ever created inside these namespaces (veth pairs are made
 * from inside one namespace with the peer moved straight into the other).
 *
 * Frames go in and out through a small Python helper (standard library only) run with `ip netns exec`:
 * `send IFACE HEX...` writes raw frames with an AF_PACKET socket; `capture IFACE KIND COUNT TIMEOUT` prints
 * `ready`, then the hex of each received frame (frames we sent ourselves, PACKET_OUTGOING, are skipped) until
 * COUNT frames or TIMEOUT seconds; `nocsum IFACE` turns TX checksum offload off (ETHTOOL_STXCSUM), so checksums
 * on the wire are the software-computed ones a NIC would send.
 */

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const SBIN = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];
export function which(name: string): string | undefined {
  return SBIN.map((d) => `${d}/${name}`).find((p) => existsSync(p));
}

const PY = String.raw`
import socket, struct, sys, select, time, fcntl
ETH_P_ALL = 3
PACKET_OUTGOING = 4
mode, iface = sys.argv[1], sys.argv[2]
if mode == 'nocsum':
    import ctypes
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    cmd = ctypes.create_string_buffer(struct.pack('II', 0x17, 0))  # struct ethtool_value: ETHTOOL_STXCSUM, off
    ifr = struct.pack('16sQ', iface.encode(), ctypes.addressof(cmd)).ljust(40, b'\0')  # struct ifreq, ifr_data
    fcntl.ioctl(s.fileno(), 0x8946, ifr)  # SIOCETHTOOL
elif mode == 'send':
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    for h in sys.argv[3:]:
        s.send(bytes.fromhex(h))
        time.sleep(0.02)
elif mode == 'capture':
    kind, count, timeout = sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    s.setblocking(False)
    print('ready', flush=True)
    got, end = 0, time.time() + timeout
    while got < count and time.time() < end:
        r, _, _ = select.select([s], [], [], max(0.0, end - time.time()))
        if not r:
            break
        data, addr = s.recvfrom(65535)
        if addr[2] == PACKET_OUTGOING or len(data) < 34 or data[12:14] != b'\x08\x00':
            continue
        if kind == 'vxlan' and not (data[23] == 17 and data[36:38] == b'\x12\xb5'):
            continue
        print(data.hex(), flush=True)
        got += 1
`;

export class Namespaces {
  readonly names: string[] = [];
  private static live = new Set<Namespaces>();
  private static hooked = false;

  constructor(readonly ip: string) {
    if (!Namespaces.hooked) {
      Namespaces.hooked = true;
      process.on('exit', () => {
        for (const n of Namespaces.live) n.destroy();
      });
    }
    Namespaces.live.add(this);
  }

  /** Create `pw-<pid>-<role>` with IPv6 off (no RS/MLD/DAD chatter), no redirects, no reverse-path filter. */
  add(role: string): string {
    const ns = `pw-${process.pid}-${role}`;
    spawnSync(this.ip, ['netns', 'del', ns], { stdio: 'ignore' }); // a leftover of this pid's own earlier run
    this.cmd('netns', 'add', ns);
    this.names.push(ns);
    this.sh(
      ns,
      'echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6; echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6; ' +
        'echo 0 > /proc/sys/net/ipv4/conf/all/send_redirects; echo 0 > /proc/sys/net/ipv4/conf/all/rp_filter; echo 0 > /proc/sys/net/ipv4/conf/default/rp_filter',
    );
    this.cmd('-n', ns, 'link', 'set', 'lo', 'up');
    return ns;
  }

  /** `ip ARGS...` (throws with stderr on failure). */
  cmd(...args: string[]): string {
    return execFileSync(this.ip, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], timeout: 10_000 });
  }

  /** A command inside a namespace, with optional stdin. */
  exec(ns: string, argv: string[], input?: string): string {
    return execFileSync(this.ip, ['netns', 'exec', ns, ...argv], {
      encoding: 'utf8',
      input,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: 10_000,
    });
  }

  sh(ns: string, script: string): string {
    return this.exec(ns, ['sh', '-c', script]);
  }

  /** veth pair `a`@nsA -- `b`@nsB, made from inside nsA. */
  veth(nsA: string, a: string, nsB: string, b: string): void {
    this.cmd('-n', nsA, 'link', 'add', a, 'type', 'veth', 'peer', 'name', b, 'netns', nsB);
  }

  noTxChecksum(ns: string, iface: string): void {
    this.exec(ns, ['python3', '-c', PY, 'nocsum', iface]);
  }

  send(ns: string, iface: string, frames: readonly Uint8Array[]): void {
    this.exec(ns, ['python3', '-c', PY, 'send', iface, ...frames.map((f) => Buffer.from(f).toString('hex'))]);
  }

  /**
   * Start capturing on `iface` in `ns`; resolves `ready` once the socket is open, `frames` when COUNT frames came
   * or the timeout passed.
   */
  capture(
    ns: string,
    iface: string,
    kind: 'vxlan' | 'ipv4',
    count: number,
    timeoutSec = 3,
  ): { ready: Promise<void>; frames: Promise<Uint8Array[]> } {
    const p = spawn(
      this.ip,
      ['netns', 'exec', ns, 'python3', '-c', PY, 'capture', iface, kind, String(count), String(timeoutSec)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '',
      err = '';
    let readyResolve!: () => void;
    const ready = new Promise<void>((r) => (readyResolve = r));
    p.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.startsWith('ready\n')) readyResolve();
    });
    p.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const frames = new Promise<Uint8Array[]>((resolve, reject) => {
      p.on('error', reject);
      p.on('close', (code) => {
        readyResolve();
        if (code !== 0) return reject(new Error(`capture in ${ns} on ${iface} failed (${code}): ${err}`));
        resolve(
          out
            .split('\n')
            .slice(1)
            .filter(Boolean)
            .map((h) => new Uint8Array(Buffer.from(h, 'hex'))),
        );
      });
    });
    return { ready, frames };
  }

  destroy(): void {
    for (const ns of this.names.splice(0)) spawnSync(this.ip, ['netns', 'del', ns], { stdio: 'ignore' });
    Namespaces.live.delete(this);
  }
}

/** Root, `ip` and python3 present: the kernel suite can run. */
export function kernelPrerequisites(): { ok: boolean; ip?: string; why?: string } {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return { ok: false, why: 'not running as root' };
  const ip = which('ip');
  if (!ip) return { ok: false, why: 'ip(8) not installed (apt-get install iproute2)' };
  const py = spawnSync('python3', ['-c', 'import socket; socket.AF_PACKET'], { stdio: 'ignore' });
  if (py.status !== 0) return { ok: false, why: 'python3 with AF_PACKET sockets not available' };
  return { ok: true, ip };
}
