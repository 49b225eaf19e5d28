/**
 * How a delivery to a channel fails. Messages name the channel kind and what went wrong (an HTTP status, a network
 * error code, the service's own short reason), never the target: webhook URLs and bot tokens are secrets, and these
 * messages end up in job records, logs and the channel's `last_error`.
 */
import { ServiceError } from '../../lib/service-error.ts';

/** The channel could not be reached or answered with a server error: a later attempt may succeed. */
export class DeliveryFailed extends ServiceError {
  readonly code = 'service-unavailable';
  readonly status = 503;
  override readonly retryable = true;
}

/**
 * The channel answered that it will not take this delivery (a 4xx other than 408/425/429: the webhook was deleted,
 * the bot was removed from the chat, the payload was refused). Retrying cannot change the answer.
 */
export class DeliveryRefused extends ServiceError {
  readonly code = 'precondition-failed';
  readonly status = 412;
}

/** The channel asked us to slow down; retried like an outage but not counted as one by the breaker. */
export class DeliveryRateLimited extends ServiceError {
  readonly code = 'rate-limited';
  readonly status = 429;
  override readonly retryable = true;
}
