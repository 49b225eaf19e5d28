/**
 * The tRPC context: built once per HTTP request (a batch shares it). It carries the request's logger and id and the
 * process dependencies; `user` is filled by the auth layer.
 */
import type { CreateFastifyContextOptions } from '@trpc/server/adapters/fastify';
import type { AppDeps } from '../app.ts';
import type { Logger } from '../lib/logger.ts';

export interface SessionUser {
  id: number;
  role: 'user' | 'admin';
}

export interface TrpcContext {
  deps: AppDeps;
  requestId: string;
  log: Logger;
  ip: string;
  userAgent: string | undefined;
  user: SessionUser | null;
}

export function createContextFactory(deps: AppDeps) {
  return async ({ req }: CreateFastifyContextOptions): Promise<TrpcContext> => ({
    deps,
    requestId: req.id,
    log: req.log,
    ip: req.ip,
    userAgent: req.headers['user-agent'],
    user: null,
  });
}
