/**
 * Config errors: every problem in a cluster file is reported before anything runs, naming the file, the object
 * (kind namespace/name, or where it sits in the file) and the field path, and saying what was expected:
 *   `cluster.yaml: Pod project1/sqlapi-1-8jgx8: status.podIP: 10.200.0.5 is not inside node w1's subnet 10.131.0.0/23`
 */

export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  /**
   * @param file    the file name as given to the loader (`cluster.yaml`, `<builtin>`)
   * @param object  `Kind namespace/name`, or `document 3` / `items[2]` when the object has no usable name; '' for
   *                errors about the whole file
   * @param field   dotted field path inside the object (`spec.containers[0].ports[1].containerPort`); '' if none
   * @param detail  what is wrong and what was expected
   * @param line    1-based line for YAML syntax errors
   * @param column  1-based column for YAML syntax errors
   */
  readonly object: string;
  readonly field: string;
  readonly detail: string;

  constructor(
    readonly file: string,
    object: string,
    field: string,
    detail: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    const where = line === undefined ? file : `${file}:${line}:${column ?? 1}`;
    super([where, object, field, detail].filter((s) => s !== '').join(': '));
    this.object = shortenForMessage(object);
    this.field = shortenForMessage(field);
    this.detail = shortenForMessage(detail);
    this.message = [where, this.object, this.field, this.detail].filter((s) => s !== '').join(': ');
  }
}

/** A value longer than this is shown by its first SHOWN_CHARS characters and its length. */
const LONG_VALUE = 120;
const SHOWN_CHARS = 80;
const LONG_RUN = new RegExp(`[^\\s"]{${LONG_VALUE + 1},}`, 'g');

/**
 * Keeps an error message one readable line when a file holds megabyte values: every quoted string, and every
 * other run without spaces, longer than LONG_VALUE characters is cut to its first SHOWN_CHARS and its length,
 * `"xxxx…" (5242880 characters)`.
 */
export function shortenForMessage(s: string): string {
  if (s.length <= LONG_VALUE) return s;
  return s
    .replace(/"(?:[^"\\]|\\.)*"/g, (q) => {
      if (q.length <= LONG_VALUE) return q;
      let inner: string;
      try {
        inner = JSON.parse(q) as string;
      } catch {
        inner = q.slice(1, -1);
      }
      return `"${inner.slice(0, SHOWN_CHARS)}…" (${inner.length} characters)`;
    })
    .replace(LONG_RUN, (run) => `${run.slice(0, SHOWN_CHARS)}… (${run.length} characters)`);
}
