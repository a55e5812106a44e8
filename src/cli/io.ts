// What a command touches of the outside world, passed in so tests can run commands in-process.
export interface IO {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Standard input, for `-f -`. */
  stdin(): string;
  now(): Date;
  /** Resolves when the user asks a long-running command (kdp up) to stop. */
  interrupted(): Promise<void>;
}

/** Raised for a usage or lookup error the user can fix; printed without a stack, exit code 1. */
export class UserError extends Error {}
