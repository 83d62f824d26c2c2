/** A run stopped by SIGINT or SIGTERM: exit 128 + the signal number, as a shell reports it. */
export class Interrupted extends Error {
  constructor(readonly signal: 'SIGINT' | 'SIGTERM') {
    super(`interrupted by ${signal}; unfinished files were removed, finished scenario folders are complete`);
  }

  get exitCode(): number {
    return this.signal === 'SIGINT' ? 130 : 143;
  }
}
