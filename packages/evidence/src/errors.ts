/** Bad input to the writing side, with a machine-readable `code` and a `hint` a service can answer with (4xx). */
export class EvidenceError extends Error {
  constructor(
    readonly code: string,
    readonly hint: string,
  ) {
    super(`${code}: ${hint}`);
    this.name = 'EvidenceError';
  }
}
