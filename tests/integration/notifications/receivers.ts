/**
 * Local HTTP receivers on loopback standing in for Discord, Slack, Telegram and a trader's webhook endpoint. Each
 * records every request (raw body included, for signature checks) and answers what the test says: by default 204
 * (Discord), `ok` (Slack) or Telegram's `{ok: true}` (see `answer`).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body, exactly as received. */
  body: string;
  json: unknown;
  at: number;
}

/** What to answer one request with; `hang` never answers (the connection stays open until the receiver closes). */
export type Answer = { status: number; body?: string | object; hang?: false } | { hang: true };

export interface Receiver {
  url: string;
  requests: Received[];
  /** Sets how the next requests are answered (the request and its 0-based index among all requests). */
  answer(fn: (request: Received, index: number) => Answer): void;
  close(): Promise<void>;
}

export async function startReceiver(defaultAnswer: Answer = { status: 204 }): Promise<Receiver> {
  const requests: Received[] = [];
  let answerFor: (request: Received, index: number) => Answer = () => defaultAnswer;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      const received: Received = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body,
        json,
        at: Date.now(),
      };
      requests.push(received);
      const answer = answerFor(received, requests.length - 1);
      if (answer.hang) return;
      const text =
        answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
      res.writeHead(answer.status, typeof answer.body === 'object' ? { 'content-type': 'application/json' } : {});
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    answer(fn) {
      answerFor = fn;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The receiver's side of the documented signature check, written from the recipe rather than from the server's
 * code: `X-Fillpath-Signature: t=<unix s>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`, within 300 s.
 */
export function verifySignature(
  secret: string,
  header: string | string[] | undefined,
  rawBody: string,
  nowS = Math.floor(Date.now() / 1000),
  toleranceS = 300,
): boolean {
  if (typeof header !== 'string') return false;
  const parts = new Map(header.split(',').map((part) => part.split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const v1 = parts.get('v1') ?? '';
  if (!Number.isInteger(t) || Math.abs(nowS - t) > toleranceS || !/^[0-9a-f]{64}$/.test(v1)) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();
  return timingSafeEqual(expected, Buffer.from(v1, 'hex'));
}
