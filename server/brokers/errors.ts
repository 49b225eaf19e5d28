/**
 * What a broker call can fail with. Every adapter maps each broker's answers (including the errors it returns inside
 * HTTP 200) onto exactly these, so callers never look at broker-specific bodies:
 * - BrokerRejected: final; retrying cannot help (buying power, invalid order, unknown symbol).
 * - BrokerUnavailable: try again later (timeout, network error, 5xx, 429, open circuit, penalty wait).
 * - BrokerAuthExpired: the session or credentials no longer work; a person must reconnect or log in again.
 */
import { ServiceError } from '../lib/service-error.ts';

export class BrokerRejected extends ServiceError {
  readonly code = 'broker-rejected';
  readonly status = 422;
  /** The broker's own reason code, when it gives one (e.g. Alpaca 40310000, Tradovate `failureReason`). */
  readonly brokerCode: string | undefined;
  constructor(message: string, options?: { brokerCode?: string | number; cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.brokerCode = options?.brokerCode === undefined ? undefined : String(options.brokerCode);
  }
}

export class BrokerUnavailable extends ServiceError {
  readonly code = 'broker-unavailable';
  readonly status = 503;
  override readonly retryable = true;
  /** When the broker said how long to wait (429 reset, Tradovate p-time). */
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options?: { retryAfterMs?: number; cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.retryAfterMs = options?.retryAfterMs;
  }
}

export class BrokerAuthExpired extends ServiceError {
  readonly code = 'broker-session-expired';
  readonly status = 409;
}
