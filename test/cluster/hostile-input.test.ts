/**
 * Cluster files a hostile or careless user brings: devices and directories, huge files, the wrong encoding,
 * broken UTF-8, empty files, absurd nesting, megabyte values, labels Kubernetes would refuse, addresses no host
 * can have. Each gives one ConfigError naming the file and the object, field, line or byte offset.
 */

import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/cluster/errors.js';
import {
  loadClusterFile,
  MAX_CLUSTER_FILE_BYTES,
  MAX_NESTING,
  parseClusterDocuments,
  readClusterFile,
} from '../../src/cluster/load.js';

const tmp = mkdtempSync(join(tmpdir(), 'packetwalk-hostile-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const NODE = 'kind: HostSubnet\nmetadata: {name: n1}\nhost: n1\nhostIP: 192.168.0.4\n';
const POD =
  'kind: Pod\nmetadata: {namespace: p, name: a, labels: {app: web}}\nspec: {nodeName: n1, containers: [{name: c}]}\n';
const VALID = `${NODE}---\n${POD}`;

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

function file(name: string, content: string | Buffer): string {
  const p = join(tmp, name);
  writeFileSync(p, content);
  return p;
}

describe('reading a cluster file', () => {
  it('reads a valid file, with or without a UTF-8 byte order mark', () => {
    expect(loadClusterFile(file('ok.yaml', VALID)).pods).toHaveLength(1);
    expect(
      loadClusterFile(file('bom.yaml', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(VALID)]))).pods,
    ).toHaveLength(1);
  });

  it('refuses what is not a regular file before reading a byte', () => {
    expect(configError(() => readClusterFile('/dev/zero')).message).toBe(
      '/dev/zero: not a regular file (a character device); expected a YAML or JSON file',
    );
    mkdirSync(join(tmp, 'dir.yaml'));
    expect(configError(() => readClusterFile(join(tmp, 'dir.yaml'))).message).toBe(
      `${join(tmp, 'dir.yaml')}: not a regular file (a directory); expected a YAML or JSON file`,
    );
    expect(configError(() => readClusterFile(join(tmp, 'missing.yaml'))).message).toBe(
      `${join(tmp, 'missing.yaml')}: cannot read the file: no such file`,
    );
  });

  it(`refuses a file over ${MAX_CLUSTER_FILE_BYTES} bytes without reading it`, () => {
    const p = join(tmp, 'huge.yaml');
    const fd = openSync(p, 'w');
    ftruncateSync(fd, MAX_CLUSTER_FILE_BYTES + 1); // sparse: no disk used
    closeSync(fd);
    expect(configError(() => readClusterFile(p)).message).toBe(
      `${p}: the file is 67108865 bytes; packetwalk reads cluster files of at most 67108864 bytes (64 MiB)`,
    );
  });

  it('says a UTF-16 file is UTF-16, with or without a byte order mark', () => {
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(VALID, 'utf16le')]);
    const be = Buffer.from(Buffer.from(VALID, 'utf16le')).swap16();
    for (const [name, bytes, which] of [
      ['le.yaml', le, 'UTF-16LE'],
      ['le-nobom.yaml', Buffer.from(VALID, 'utf16le'), 'UTF-16LE'],
      ['be.yaml', Buffer.concat([Buffer.from([0xfe, 0xff]), be]), 'UTF-16BE'],
    ] as const) {
      const p = file(name, bytes);
      expect(configError(() => readClusterFile(p)).message).toBe(`${p}: the file is ${which}; save it as UTF-8`);
    }
  });

  it('names the byte offset and line of a NUL byte or invalid UTF-8', () => {
    const nul = file(
      'nul.yaml',
      Buffer.concat([Buffer.from('kind: Pod\nmetadata: {name: a'), Buffer.from([0]), Buffer.from('}\n')]),
    );
    expect(configError(() => readClusterFile(nul)).message).toBe(
      `${nul}:2:19: NUL byte at byte offset 28 (expected a UTF-8 text file)`,
    );
    // A Latin-1 é (0xe9) inside a label value: not UTF-8.
    const latin1 = file(
      'latin1.yaml',
      Buffer.concat([
        Buffer.from(`${NODE}---\nkind: Pod\nmetadata: {namespace: p, name: a, labels: {team: caf`),
        Buffer.from([0xe9]),
        Buffer.from('}}\nspec: {nodeName: n1, containers: [{name: c}]}\n'),
      ]),
    );
    const e = configError(() => readClusterFile(latin1));
    expect(e.message).toBe(`${latin1}:7:53: invalid UTF-8 at byte offset 133 (byte 0xe9; save the file as UTF-8)`);
    // A truncated multi-byte sequence at the very end.
    const cut = file('cut.yaml', Buffer.concat([Buffer.from('# x\n'), Buffer.from([0xe2, 0x82])]));
    expect(configError(() => readClusterFile(cut)).message).toBe(
      `${cut}:2:1: invalid UTF-8 at byte offset 4 (byte 0xe2; save the file as UTF-8)`,
    );
  });

  it.each([
    ['empty', ''],
    ['whitespace only', '\n  \n'],
    ['comment only', '# nothing here\n# really\n'],
    ['--- only', '---\n---\n'],
    ['an empty List', 'kind: List\napiVersion: v1\nitems: []\n'],
  ])('refuses a file with no objects (%s)', (_, text) => {
    expect(configError(() => parseClusterDocuments(text, 'c.yaml')).message).toBe(
      'c.yaml: the file holds no objects (expected Kubernetes objects such as HostSubnet and Pod, as `---` documents or a kind: List)',
    );
  });

  it('refuses pods on nodes the file does not have', () => {
    expect(configError(() => parseClusterDocuments(POD, 'c.yaml')).message).toMatch(
      /^c\.yaml: Pod p\/a: spec\.nodeName: node "n1" does not exist/,
    );
  });

  it('says "nesting too deep" with the line, at any depth', () => {
    for (const n of [MAX_NESTING + 1, 900, 5000]) {
      const flow = `${VALID}---\nkind: Pod\nx: ${'['.repeat(n)}${']'.repeat(n)}\n`;
      const e = configError(() => parseClusterDocuments(flow, 'deep.yaml'));
      expect(e.message, `flow ${n}`).toMatch(
        new RegExp(`^deep\\.yaml:11:\\d+: nesting too deep \\(more than ${MAX_NESTING} levels\\)$`),
      );
      const block = `${VALID}---\nkind: Pod\nx:\n${Array.from({ length: n }, (_, i) => `${' '.repeat(i + 1)}- `).join('\n')}1\n`;
      const b = configError(() => parseClusterDocuments(block, 'deep.yaml'));
      expect(b.message, `block ${n}`).toMatch(
        new RegExp(`^deep\\.yaml:\\d+:\\d+: nesting too deep \\(more than ${MAX_NESTING} levels\\)$`),
      );
      expect(b.line! > 11).toBe(true);
    }
    // Deep but within the limit (under an ignored field) is fine.
    const ok = VALID.replace(
      'spec: {nodeName',
      `spec: {affinity: ${'['.repeat(MAX_NESTING - 4)}${']'.repeat(MAX_NESTING - 4)}, nodeName`,
    );
    expect(parseClusterDocuments(ok, 'ok.yaml').pods).toHaveLength(1);
  });

  it('shortens a huge value in a message and says how long it was', () => {
    const big = 'x'.repeat(5 * 1024 * 1024);
    const e = configError(() => parseClusterDocuments(VALID.replace('name: a,', `name: ${big},`), 'big.yaml'));
    expect(e.message.length).toBeLessThan(400);
    expect(e.message).toContain(`"${'x'.repeat(80)}…" (5242880 characters)`);
    const k = configError(() =>
      parseClusterDocuments(VALID.replace('hostIP: 192.168.0.4', `hostIP: 192.168.0.4\n? ${big}\n: 1`), 'big.yaml'),
    );
    expect(k.message.length).toBeLessThan(400);
    expect(k.field).toContain('(5242880 characters)');
  });
});

describe('labels and selectors as Kubernetes validates them', () => {
  const withLabels = (labels: string): string => VALID.replace('labels: {app: web}', `labels: ${labels}`);
  it('accepts keys with a DNS prefix, empty values and the full 63 characters', () => {
    const c = parseClusterDocuments(
      withLabels(`{app.kubernetes.io/name: web, tier: "", x: ${'a'.repeat(63)}, A_b.C-9: Z.z_0}`),
      'c.yaml',
    );
    expect(c.pods[0]!.labels['app.kubernetes.io/name']).toBe('web');
  });
  it.each([
    [
      '{app: "we b"}',
      'metadata.labels.app',
      "\"we b\" is not a valid label value (at most 63 characters: letters, digits, '-', '_' or '.', starting and ending with a letter or digit)",
    ],
    [
      '{app: -web}',
      'metadata.labels.app',
      "\"-web\" is not a valid label value (at most 63 characters: letters, digits, '-', '_' or '.', starting and ending with a letter or digit)",
    ],
    [
      `{app: ${'a'.repeat(64)}}`,
      'metadata.labels.app',
      `"${'a'.repeat(64)}" is not a valid label value (at most 63 characters: letters, digits, '-', '_' or '.', starting and ending with a letter or digit)`,
    ],
    [
      '{"a b": x}',
      'metadata.labels.a b',
      "\"a b\" is not a valid label key (expected [prefix/]name: name at most 63 characters of letters, digits, '-', '_' or '.', starting and ending with a letter or digit; prefix a DNS subdomain)",
    ],
    [
      '{"Example.com/x": y}',
      'metadata.labels.Example.com/x',
      "\"Example.com/x\" is not a valid label key (expected [prefix/]name: name at most 63 characters of letters, digits, '-', '_' or '.', starting and ending with a letter or digit; prefix a DNS subdomain)",
    ],
    [
      '{"/x": y}',
      'metadata.labels./x',
      "\"/x\" is not a valid label key (expected [prefix/]name: name at most 63 characters of letters, digits, '-', '_' or '.', starting and ending with a letter or digit; prefix a DNS subdomain)",
    ],
  ])('refuses %s', (labels, field, detail) => {
    const e = configError(() => parseClusterDocuments(withLabels(labels), 'c.yaml'));
    expect([e.object, e.field, e.detail]).toEqual(['Pod p/a', field, detail]);
  });
  it('checks selectors too', () => {
    const svc =
      'kind: Service\nmetadata: {namespace: p, name: s}\nspec: {clusterIP: 172.30.0.10, ports: [{port: 80}], selector: {app: "a/b"}}\n';
    const e = configError(() => parseClusterDocuments(`${VALID}---\n${svc}`, 'c.yaml'));
    expect([e.object, e.field]).toEqual(['Service p/s', 'spec.selector.app']);
  });
  it('refuses annotations over 256 KiB in total, as the API server does', () => {
    const e = configError(() =>
      parseClusterDocuments(
        VALID.replace('labels: {app: web}', `annotations: {note: ${'n'.repeat(256 * 1024)}}`),
        'c.yaml',
      ),
    );
    expect([e.object, e.field]).toEqual(['Pod p/a', 'metadata.annotations']);
    expect(e.detail).toBe('262148 bytes of annotations (expected at most 262144, the Kubernetes limit)');
  });
});

describe('addresses no host can have', () => {
  const ext = (ip: string): string => `${VALID}---\nkind: ExternalHost\nmetadata: {name: e}\nip: ${ip}\n`;
  it.each([
    ['0.0.0.0', '0.0.0.0 is not a unicast host address (0.0.0.0/8 is "this network")'],
    ['0.1.2.3', '0.1.2.3 is not a unicast host address (0.0.0.0/8 is "this network")'],
    ['127.0.0.1', '127.0.0.1 is not a unicast host address (127.0.0.0/8 is loopback)'],
    ['224.0.0.1', '224.0.0.1 is not a unicast host address (224.0.0.0/4 is multicast)'],
    ['239.255.255.250', '239.255.255.250 is not a unicast host address (224.0.0.0/4 is multicast)'],
    [
      '255.255.255.255',
      '255.255.255.255 is not a unicast host address (255.255.255.255 is the limited broadcast address)',
    ],
    ['240.0.0.1', '240.0.0.1 is not a unicast host address (240.0.0.0/4 is reserved)'],
  ])('refuses an ExternalHost at %s', (ip, detail) => {
    const e = configError(() => parseClusterDocuments(ext(ip), 'c.yaml'));
    expect([e.file, e.object, e.field, e.detail]).toEqual(['c.yaml', 'ExternalHost e', 'ip', detail]);
  });
  it('refuses a node, a gateway, an external IP or an endpoint at such an address', () => {
    expect(
      configError(() => parseClusterDocuments(VALID.replace('hostIP: 192.168.0.4', 'hostIP: 127.0.0.5'), 'c.yaml'))
        .field,
    ).toBe('hostIP');
    expect(
      configError(() =>
        parseClusterDocuments(`${VALID}---\nkind: Underlay\ncidr: 192.168.0.0/24\ngateway: 224.0.0.1\n`, 'c.yaml'),
      ).field,
    ).toBe('gateway');
    const svc =
      'kind: Service\nmetadata: {namespace: p, name: s}\nspec: {clusterIP: 172.30.0.10, ports: [{port: 80}], externalIPs: [0.0.0.0]}\n';
    expect(configError(() => parseClusterDocuments(`${VALID}---\n${svc}`, 'c.yaml')).field).toBe('spec.externalIPs[0]');
  });
});
