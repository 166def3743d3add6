/** Bad input from a user, a file or a command line: reported in one line, exit code 2. */
export class InputError extends Error {
  override name = 'InputError';
}

export const EXIT = { ok: 0, failed: 1, badInput: 2, timeout: 3 } as const;
