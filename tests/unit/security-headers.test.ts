/**
 * The api's hardening headers are computed once (server/http/security-headers.ts): they must be exactly what helmet
 * sets on a real response with the same options, header for header.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import helmet from 'helmet';
import { describe, expect, it } from 'vitest';
import { API_HELMET_OPTIONS, helmetHeaders } from '../../server/http/security-headers.ts';

describe('security headers', () => {
  it('are the headers helmet sets on a real response', async () => {
    const server = createServer((req, res) => helmet(API_HELMET_OPTIONS)(req, res, () => res.end()));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      const fromHelmet = Object.fromEntries(
        [...response.headers].filter(
          ([name]) => !['date', 'connection', 'keep-alive', 'content-length'].includes(name),
        ),
      );
      expect(helmetHeaders(API_HELMET_OPTIONS)).toEqual(fromHelmet);
      expect(Object.keys(fromHelmet).length).toBeGreaterThanOrEqual(10);
    } finally {
      server.close();
    }
  });
});
