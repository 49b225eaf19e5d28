/**
 * Typed tRPC clients over real HTTP, as the React app uses them, and helpers to make signed-in users.
 */
import { randomUUID } from 'node:crypto';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import superjson from 'superjson';
import type { AppRouter } from '../../server/trpc/app-router.ts';
import { rememberSecret } from './secrets.ts';

export type ApiClient = ReturnType<typeof createTRPCClient<AppRouter>>;

export function apiClient(baseUrl: string, accessToken?: string, headers: Record<string, string> = {}): ApiClient {
  return createTRPCClient<AppRouter>({
    links: [
      httpLink({
        url: `${baseUrl}/api/v1/trpc`,
        transformer: superjson,
        headers: () => ({ ...headers, ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}) }),
      }),
    ],
  });
}

export interface SignedInUser {
  id: number;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
  client: ApiClient;
}

/** Registers a fresh user (unique email) and returns a client signed in as them. */
export async function signUp(baseUrl: string, name = 'Test Trader'): Promise<SignedInUser> {
  const email = `trader-${randomUUID().slice(0, 8)}@example.com`;
  const password = `pw-${randomUUID()}`;
  const result = await apiClient(baseUrl).auth.register.mutate({ email, password, name });
  rememberSecret(password, result.accessToken, result.refreshToken);
  return {
    id: result.user.id,
    email,
    password,
    accessToken: result.accessToken,
    refreshToken: result.refreshToken,
    client: apiClient(baseUrl, result.accessToken),
  };
}

/** The TRPCClientError a call fails with; fails the test if the call succeeds. */
export async function trpcFailure<R extends AnyRouter = AppRouter>(
  call: () => Promise<unknown>,
): Promise<TRPCClientError<R>> {
  try {
    await call();
  } catch (error) {
    if (error instanceof TRPCClientError) return error as TRPCClientError<R>;
    throw error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}
