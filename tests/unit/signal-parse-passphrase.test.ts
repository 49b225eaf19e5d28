/** The alert's passphrase: read apart from the Signal so the route compares it in constant time and never stores it. */
import { describe, expect, it } from 'vitest';
import { extractPassphrase, normalizeSignal, parseAlertBody } from '../../server/services/signals/parse.ts';
import { signalSchema } from '../../shared/schemas/signal.ts';

describe('passphrase', () => {
  it('is read apart and never lands in the signal', () => {
    const body = '{"ticker":"A","action":"buy","passphrase":"s3cret-phrase"}';
    const parsed = parseAlertBody(body, 'application/json');
    if (!parsed.ok) throw new Error(parsed.message);
    expect(extractPassphrase(parsed.value)).toBe('s3cret-phrase');
    const result = normalizeSignal(parsed.value);
    expect(result).toEqual({ ok: true, signal: { ticker: 'A', action: 'buy' } });
    expect(JSON.stringify(result)).not.toContain('s3cret');
    expect(signalSchema.safeParse({ ticker: 'A', action: 'buy', passphrase: 'x' }).success).toBe(false);
  });

  it.each([
    [{ passphrase: 's3cret' }, 's3cret'],
    [{ PassPhrase: 's3cret' }, 's3cret'],
    [{ pass_phrase: ' s3cret ' }, ' s3cret '],
    [{ passphrase: 's3cret', Passphrase: 's3cret' }, 's3cret'],
    [{ passphrase: 's3cret', PASSPHRASE: 'other' }, undefined],
    [{ passphrase: '' }, undefined],
    [{ passphrase: null }, undefined],
    [{ passphrase: { value: 's3cret' } }, undefined],
    [{ password: 's3cret' }, undefined],
    [{}, undefined],
  ])('extracts %j as %j', (body, expected) => {
    expect(extractPassphrase(body)).toBe(expected);
  });

  it('reads an unquoted numeric passphrase as its text', () => {
    const parsed = parseAlertBody('{"passphrase":12345678901234567890}', undefined);
    expect(parsed.ok && extractPassphrase(parsed.value)).toBe('12345678901234567890');
    expect(extractPassphrase('passphrase')).toBeUndefined();
  });
});
