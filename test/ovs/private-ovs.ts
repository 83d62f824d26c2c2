/**
 * A private, userspace Open vSwitch for tests (the recipe of OVS's own test suite and of
 * shared/tools/ovsref): ovsdb-server + ovs-vswitchd --enable-dummy in a temp dir, bridges with
 * datapath_type=dummy, its own sockets. stop() ends exactly the two daemons it started (by pidfile) and
 * removes the directory.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCHEMA_PATHS = ['/usr/share/openvswitch/vswitch.ovsschema', '/usr/local/share/openvswitch/vswitch.ovsschema'];

/** True when the OVS binaries and schema this harness needs are installed. */
export function hasOvs(): boolean {
  try {
    execFileSync('ovs-vswitchd', ['--version'], { stdio: 'ignore' });
    return SCHEMA_PATHS.some((p) => existsSync(p));
  } catch {
    return false;
  }
}

export class PrivateOvs {
  readonly dir: string;
  private readonly env: NodeJS.ProcessEnv;
  private pids: number[] = [];

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'packetwalk-ovs-'));
    const d = this.dir;
    this.env = { ...process.env, OVS_RUNDIR: d, OVS_DBDIR: d, OVS_LOGDIR: d, OVS_SYSCONFDIR: d };
  }

  private run(cmd: string, args: string[], input?: string): string {
    return execFileSync(cmd, args, {
      env: this.env,
      encoding: 'utf8',
      input,
      timeout: 15_000,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  }

  /** Start the daemons and create br0 with the given ofports (all dummy ports named port<N>). */
  start(ports: number[]): void {
    const d = this.dir;
    const schema = SCHEMA_PATHS.find((p) => existsSync(p))!;
    this.run('ovsdb-tool', ['create', `${d}/conf.db`, schema]);
    this.run('ovsdb-server', [
      `${d}/conf.db`,
      `--remote=punix:${d}/db.sock`,
      `--unixctl=${d}/ovsdb-server.ctl`,
      `--pidfile=${d}/ovsdb-server.pid`,
      `--log-file=${d}/ovsdb-server.log`,
      '--detach',
      '--no-chdir',
      '-vconsole:off',
    ]);
    this.pids.push(+readFileSync(`${d}/ovsdb-server.pid`, 'utf8').trim());
    this.vsctl(['--no-wait', 'init']);
    this.run('ovs-vswitchd', [
      `unix:${d}/db.sock`,
      '--enable-dummy',
      '--disable-system',
      '--disable-system-route',
      `--unixctl=${d}/ovs-vswitchd.ctl`,
      `--pidfile=${d}/ovs-vswitchd.pid`,
      `--log-file=${d}/ovs-vswitchd.log`,
      '--detach',
      '--no-chdir',
      '-vconsole:off',
    ]);
    this.pids.push(+readFileSync(`${d}/ovs-vswitchd.pid`, 'utf8').trim());
    const args = [
      '--',
      'add-br',
      'br0',
      '--',
      'set',
      'Bridge',
      'br0',
      'datapath_type=dummy',
      'fail_mode=secure',
      'protocols=OpenFlow13',
    ];
    for (const p of ports) {
      // ofport 1 is a real VXLAN port like OpenShift's vxlan0, so traces keep tunnel metadata.
      const type =
        p === 1
          ? ['type=vxlan', 'options:remote_ip=flow', 'options:key=flow', 'options:dst_port=4789']
          : ['type=dummy'];
      args.push(
        '--',
        'add-port',
        'br0',
        `port${p}`,
        '--',
        'set',
        'Interface',
        `port${p}`,
        ...type,
        `ofport_request=${p}`,
      );
    }
    this.vsctl(args);
  }

  vsctl(args: string[]): string {
    return this.run('ovs-vsctl', [`--db=unix:${this.dir}/db.sock`, '--timeout=10', ...args]);
  }

  ofctl(cmd: string, ...args: string[]): string {
    return this.run('ovs-ofctl', ['-O', 'OpenFlow13', '--timeout=10', cmd, `unix:${this.dir}/br0.mgmt`, ...args]);
  }

  /** Load text through a file, as `ovs-ofctl add-flows br0 FILE` / `add-groups br0 FILE`. */
  load(cmd: 'add-flows' | 'add-groups', text: string): void {
    const f = join(this.dir, `${cmd}.txt`);
    writeFileSync(f, text);
    this.ofctl(cmd, f);
  }

  appctl(...args: string[]): string {
    return this.run('ovs-appctl', ['-t', `${this.dir}/ovs-vswitchd.ctl`, '--timeout=10', ...args]);
  }

  /** Stop only the daemons this instance started, then delete its directory. */
  stop(): void {
    for (const name of ['ovs-vswitchd', 'ovsdb-server']) {
      try {
        this.run('ovs-appctl', ['-t', `${this.dir}/${name}.ctl`, '--timeout=5', 'exit']);
      } catch {
        /* fall back to signals below */
      }
    }
    for (const pid of this.pids) {
      for (let i = 0; i < 50 && alive(pid); i++) execFileSync('sleep', ['0.05']);
      if (alive(pid)) process.kill(pid, 'SIGTERM');
    }
    this.pids = [];
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.split(' ')[2] !== 'Z';
  } catch {
    return false;
  }
}
