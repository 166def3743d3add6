/**
 * A register client runs one operation at a time (seeds/002 §4.1: a process invokes an
 * operation only after the previous one completed). Requests that arrive while one is under
 * way wait in a bounded queue; a malformed request or a full queue is answered with an error
 * at once, so a caller never waits for nothing.
 */
import type { Context } from '../core/protocol.js';
import {
  type RegisterReply,
  type RegisterRequest,
  type RegisterResult,
  registerRequestSchema,
} from './messages.js';

export const MAX_QUEUED_OPERATIONS = 1024;

export class OperationQueue {
  private readonly queued: RegisterRequest[] = [];
  private busy = false;

  constructor(
    private readonly ctx: Context<RegisterReply>,
    private readonly begin: (operation: RegisterRequest) => void,
  ) {}

  /** ⟨Write | v⟩ / ⟨Read⟩ from the layer above. */
  submit(request: unknown): void {
    const parsed = registerRequestSchema.safeParse(request);
    if (!parsed.success) {
      this.reply({ error: 'malformed register request' });
    } else if (!this.busy) {
      this.busy = true;
      this.begin(parsed.data);
    } else if (this.queued.length < MAX_QUEUED_OPERATIONS) {
      this.queued.push(parsed.data);
    } else {
      this.reply({ error: 'too many queued operations' });
    }
  }

  /** ⟨WriteReturn⟩ / ⟨ReadReturn | v⟩; then start the next queued operation, if any. */
  complete(result: RegisterResult): void {
    this.reply(result);
    const next = this.queued.shift();
    if (next === undefined) this.busy = false;
    else this.begin(next);
  }

  private reply(result: RegisterResult): void {
    this.ctx.output({ type: 'reply', result });
  }
}
