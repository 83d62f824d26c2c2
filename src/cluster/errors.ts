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
  constructor(
    readonly file: string,
    readonly object: string,
    readonly field: string,
    readonly detail: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    const where = line === undefined ? file : `${file}:${line}:${column ?? 1}`;
    super([where, object, field, detail].filter((s) => s !== '').join(': '));
  }
}
