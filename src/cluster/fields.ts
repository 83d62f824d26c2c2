/**
 * Typed, path-tracking access to one parsed YAML/JSON object, for the cluster loader. Every getter either returns
 * a value of the expected type or throws a ConfigError naming the file, the object and the full field path.
 *
 * Unknown-field policy (see `allow`): each mapping the loader reads declares the keys it uses and the standard
 * Kubernetes keys it knowingly ignores (they do not change the data path, e.g. `spec.restartPolicy`); any other key
 * is rejected, with a "did you mean" hint, so a typo like `hostNetwrok` never silently becomes a default.
 * Mappings the loader does not look into at all (an ignored field's value, `status` of most kinds) are not checked.
 * A key whose value is null counts as absent, as the Kubernetes API server treats it.
 */

import {
  ipv4ToString,
  tryParseCidr,
  tryParseIpv4,
  tryParseMac,
  type Ipv4Address,
  type Ipv4Cidr,
  type MacAddress,
} from '../../codecs/bytes.js';
import { ConfigError } from './errors.js';

/** Which object of which file an error is about. */
export interface Where {
  file: string;
  /** `Pod project1/sqlapi-1-8jgx8`, or `document 2 (Pod)` before the name is known. */
  object: string;
}

/** ObjectMeta keys the loader reads. */
export const METADATA_READ = ['name', 'namespace', 'labels', 'annotations'] as const;
/** ObjectMeta keys that `oc get -o yaml` prints and that never affect the data path. */
export const METADATA_IGNORED = [
  'uid',
  'creationTimestamp',
  'resourceVersion',
  'generation',
  'managedFields',
  'ownerReferences',
  'selfLink',
  'generateName',
  'finalizers',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
] as const;

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** A label value or the name part of a label/annotation key (apimachinery validation.IsQualifiedName / IsValidLabelValue). */
const QUALIFIED_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const LABEL_VALUE_RULE =
  "at most 63 characters: letters, digits, '-', '_' or '.', starting and ending with a letter or digit";
const LABEL_KEY_RULE =
  "expected [prefix/]name: name at most 63 characters of letters, digits, '-', '_' or '.', starting and ending with a letter or digit; prefix a DNS subdomain";
/** The API server's limit on all annotations of one object together (apimachinery TotalAnnotationSizeLimitB). */
export const MAX_ANNOTATION_BYTES = 256 * 1024;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A human description of a YAML value for "expected X, got Y" messages. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v);
  return `${typeof v} ${String(v)}`;
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Levenshtein distance, for "did you mean" hints on unknown fields (short keys only). */
function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(
        up + 1,
        prev[j - 1]! + 1,
        diag + (a[i - 1]!.toLowerCase() === b[j - 1]!.toLowerCase() ? 0 : 1),
      );
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** One mapping inside an object, at a known field path. */
export class Fields {
  constructor(
    readonly where: Where,
    readonly path: string,
    readonly value: Record<string, unknown>,
  ) {}

  /** Wraps a value that must be a mapping (the top of a document or a list item). */
  static of(where: Where, path: string, v: unknown): Fields {
    if (!isMapping(v))
      throw new ConfigError(where.file, where.object, path, `expected a mapping, got ${describeValue(v)}`);
    return new Fields(where, path, v);
  }

  /** The dotted path of a key below this mapping. */
  at(key?: string): string {
    if (key === undefined) return this.path;
    return this.path === '' ? key : `${this.path}.${key}`;
  }

  fail(key: string | undefined, detail: string): never {
    throw new ConfigError(this.where.file, this.where.object, this.at(key), detail);
  }

  /** Rejects keys that are neither read nor knowingly ignored (see the policy in the file comment). */
  allow(read: readonly string[], ignored: readonly string[] = []): this {
    for (const key of Object.keys(this.value)) {
      if (read.includes(key) || ignored.includes(key)) continue;
      const known = [...read, ...ignored];
      let best: string | undefined;
      let bestDistance = 3;
      // A typo is short; a megabyte key would cost seconds of edit distance.
      for (const k of key.length <= 64 ? known : []) {
        const d = editDistance(key, k);
        if (d < bestDistance) [best, bestDistance] = [k, d];
      }
      const hint = best !== undefined ? `did you mean "${best}"?` : `expected one of: ${read.join(', ')}`;
      this.fail(key, `unknown field (${hint})`);
    }
    return this;
  }

  has(key: string): boolean {
    const v = this.value[key];
    return v !== undefined && v !== null;
  }

  raw(key: string): unknown {
    const v = this.value[key];
    return v === null ? undefined : v;
  }

  private missing(key: string, expected: string): never {
    return this.fail(key, `required field is missing (expected ${expected})`);
  }

  optStr(key: string): string | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') this.fail(key, `expected a string, got ${describeValue(v)}`);
    return v;
  }

  str(key: string, expected = 'a string'): string {
    const v = this.optStr(key);
    if (v === undefined || v === '') return this.missing(key, expected);
    return v;
  }

  /** One of a fixed set of strings. */
  oneOf<T extends string>(key: string, choices: readonly T[], fallback?: T): T {
    const v = fallback === undefined ? this.str(key, `one of ${choices.join(', ')}`) : (this.optStr(key) ?? fallback);
    if (!(choices as readonly string[]).includes(v))
      this.fail(key, `${JSON.stringify(v)} is not one of ${choices.join(', ')}`);
    return v as T;
  }

  optInt(key: string, min: number, max: number): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v))
      this.fail(key, `expected an integer ${min}..${max}, got ${describeValue(v)}`);
    if (v < min || v > max) this.fail(key, `${v} is out of range (expected ${min}..${max})`);
    return v;
  }

  int(key: string, min: number, max: number): number {
    const v = this.optInt(key, min, max);
    return v === undefined ? this.missing(key, `an integer ${min}..${max}`) : v;
  }

  optBool(key: string): boolean | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') this.fail(key, `expected true or false, got ${describeValue(v)}`);
    return v;
  }

  optIp(key: string): Ipv4Address | undefined {
    const s = this.optStr(key);
    if (s === undefined) return undefined;
    return parseIpAt(this.where, this.at(key), s);
  }

  ip(key: string): Ipv4Address {
    return parseIpAt(this.where, this.at(key), this.str(key, 'an IPv4 address like 192.168.0.4'));
  }

  optCidr(key: string): Ipv4Cidr | undefined {
    const s = this.optStr(key);
    if (s === undefined) return undefined;
    return parseCidrAt(this.where, this.at(key), s);
  }

  cidr(key: string): Ipv4Cidr {
    return parseCidrAt(this.where, this.at(key), this.str(key, 'an IPv4 CIDR like 10.128.0.0/14'));
  }

  optMac(key: string): MacAddress | undefined {
    const s = this.optStr(key);
    if (s === undefined) return undefined;
    const m = tryParseMac(s);
    if (m === undefined)
      this.fail(key, `${JSON.stringify(s)} is not a MAC address (expected six hex pairs like 0a:58:0a:83:00:28)`);
    return m;
  }

  optObj(key: string): Fields | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (!isMapping(v)) this.fail(key, `expected a mapping, got ${describeValue(v)}`);
    return new Fields(this.where, this.at(key), v);
  }

  obj(key: string): Fields {
    return this.optObj(key) ?? this.missing(key, 'a mapping');
  }

  /** A list (absent = empty); each element is passed with its path `key[i]`. */
  list(key: string): { value: unknown; path: string }[] {
    const v = this.raw(key);
    if (v === undefined) return [];
    if (!Array.isArray(v)) this.fail(key, `expected a list, got ${describeValue(v)}`);
    return v.map((value, i) => ({ value, path: `${this.at(key)}[${i}]` }));
  }

  /** A list of mappings (absent = empty). */
  objList(key: string): Fields[] {
    return this.list(key).map(({ value, path }) => Fields.of(this.where, path, value));
  }

  /** A list of strings (absent = empty). */
  strList(key: string): { value: string; path: string }[] {
    return this.list(key).map(({ value, path }) => {
      if (typeof value !== 'string')
        throw new ConfigError(
          this.where.file,
          this.where.object,
          path,
          `expected a string, got ${describeValue(value)}`,
        );
      return { value, path };
    });
  }

  ipList(key: string): Ipv4Address[] {
    return this.strList(key).map(({ value, path }) => parseIpAt(this.where, path, value));
  }

  cidrList(key: string): Ipv4Cidr[] {
    return this.strList(key).map(({ value, path }) => parseCidrAt(this.where, path, value));
  }

  /** A string-to-string map such as labels, annotations or a selector's matchLabels (absent = empty). */
  strMap(key: string): Record<string, string> {
    const f: Fields | undefined = this.optObj(key);
    const out: Record<string, string> = {};
    if (!f) return out;
    for (const [k, v] of Object.entries(f.value)) {
      if (typeof v !== 'string') return f.fail(k, `expected a string value (quote it), got ${describeValue(v)}`);
      out[k] = v;
    }
    return out;
  }

  /**
   * Labels, a selector's matchLabels or a Service selector, validated as the API server does
   * (apimachinery ValidateLabels): keys are qualified names with an optional DNS-subdomain prefix, values are
   * empty or at most 63 characters of [A-Za-z0-9_.-] beginning and ending alphanumeric.
   */
  labels(key: string): Record<string, string> {
    const out = this.strMap(key);
    const f = this.optObj(key);
    if (!f) return out;
    for (const [k, v] of Object.entries(out)) {
      if (!isQualifiedKey(k)) f.fail(k, `${JSON.stringify(k)} is not a valid label key (${LABEL_KEY_RULE})`);
      if (v !== '' && !(v.length <= 63 && QUALIFIED_NAME.test(v)))
        f.fail(k, `${JSON.stringify(v)} is not a valid label value (${LABEL_VALUE_RULE})`);
    }
    return out;
  }

  /** Annotations: qualified-name keys and at most MAX_ANNOTATION_BYTES of keys and values together (ValidateAnnotations). */
  annotations(key: string): Record<string, string> {
    const out = this.strMap(key);
    let bytes = 0;
    for (const [k, v] of Object.entries(out)) {
      if (!isQualifiedKey(k))
        this.obj(key).fail(k, `${JSON.stringify(k)} is not a valid annotation key (${LABEL_KEY_RULE})`);
      bytes += Buffer.byteLength(k) + Buffer.byteLength(v);
    }
    if (bytes > MAX_ANNOTATION_BYTES)
      this.fail(key, `${bytes} bytes of annotations (expected at most ${MAX_ANNOTATION_BYTES}, the Kubernetes limit)`);
    return out;
  }

  /** An address a host can have: not 0/8, loopback, multicast, reserved or broadcast. */
  unicastIp(key: string): Ipv4Address {
    return checkUnicastAt(this.where, this.at(key), this.ip(key));
  }

  optUnicastIp(key: string): Ipv4Address | undefined {
    const ip = this.optIp(key);
    return ip === undefined ? undefined : checkUnicastAt(this.where, this.at(key), ip);
  }

  unicastIpList(key: string): Ipv4Address[] {
    return this.strList(key).map(({ value, path }) =>
      checkUnicastAt(this.where, path, parseIpAt(this.where, path, value)),
    );
  }

  /** An object name: a DNS-1123 subdomain (pods, nodes, services), or a DNS-1123 label (namespaces). */
  name(key: string, label = false): string {
    const s = this.str(key, label ? 'a DNS-1123 label like project1' : 'a DNS-1123 name like sqlapi-1-8jgx8');
    const ok = label ? s.length <= 63 && DNS1123_LABEL.test(s) : s.length <= 253 && DNS1123_SUBDOMAIN.test(s);
    if (!ok)
      this.fail(
        key,
        `${JSON.stringify(s)} is not a valid name (expected lowercase letters, digits and '-'${label ? ', at most 63 characters' : " and '.'"})`,
      );
    return s;
  }
}

/** `[prefix/]name` as Kubernetes label and annotation keys are (apimachinery validation.IsQualifiedName). */
function isQualifiedKey(k: string): boolean {
  const slash = k.lastIndexOf('/');
  const name = slash < 0 ? k : k.slice(slash + 1);
  if (!(name.length >= 1 && name.length <= 63 && QUALIFIED_NAME.test(name))) return false;
  if (slash < 0) return true;
  const prefix = k.slice(0, slash);
  return prefix.length >= 1 && prefix.length <= 253 && DNS1123_SUBDOMAIN.test(prefix);
}

/** Why `ip` cannot be a host's address (RFC 1122 3.2.1.3, RFC 5771, RFC 1112), or undefined when it can. */
export function nonUnicastReason(ip: Ipv4Address): string | undefined {
  const first = ip >>> 24;
  if (first === 0) return '0.0.0.0/8 is "this network"';
  if (first === 127) return '127.0.0.0/8 is loopback';
  if (first >= 224 && first <= 239) return '224.0.0.0/4 is multicast';
  if (ip >>> 0 === 0xffffffff) return '255.255.255.255 is the limited broadcast address';
  if (first >= 240) return '240.0.0.0/4 is reserved';
  return undefined;
}

export function checkUnicastAt(where: Where, path: string, ip: Ipv4Address): Ipv4Address {
  const why = nonUnicastReason(ip);
  if (why !== undefined)
    throw new ConfigError(where.file, where.object, path, `${ipv4ToString(ip)} is not a unicast host address (${why})`);
  return ip;
}

export function parseIpAt(where: Where, path: string, s: string): Ipv4Address {
  const ip = tryParseIpv4(s);
  if (ip === undefined)
    throw new ConfigError(
      where.file,
      where.object,
      path,
      `${JSON.stringify(s)} is not an IPv4 address (expected a dotted quad like 192.168.0.4)`,
    );
  return ip;
}

export function parseCidrAt(where: Where, path: string, s: string): Ipv4Cidr {
  const c = tryParseCidr(s);
  if (c === undefined || !s.includes('/')) {
    const hostBits = s.includes('/') && tryParseCidr(s, true) !== undefined;
    const why = hostBits ? 'host bits are set' : 'expected a.b.c.d/n';
    throw new ConfigError(
      where.file,
      where.object,
      path,
      `${JSON.stringify(s)} is not an IPv4 CIDR (${why}, like 10.128.0.0/14)`,
    );
  }
  return c;
}
