/**
 * webhooks.getLog masks secret fields of a stored alert body in place: every spelling and quoting the ingestion
 * reader accepts, malformed bodies included, while the rest of the text stays byte for byte.
 */
import { describe, expect, it } from 'vitest';
import { redactBody } from '../../server/services/webhooks/redact-body.ts';

describe('redactBody', () => {
  it.each([
    ['{"ticker":"AAPL","passphrase":"hunter22x"}', '{"ticker":"AAPL","passphrase":"[redacted]"}'],
    ['{ "Pass_Phrase" : "s3cr3t!!", "qty": 1 }', '{ "Pass_Phrase" : "[redacted]", "qty": 1 }'],
    ['{"pass\\u0070hrase":"escaped1","x":"y"}', '{"pass\\u0070hrase":"[redacted]","x":"y"}'],
    ['{“passphrase”: “curly-secret”, "a": 1,}', '{“passphrase”: "[redacted]", "a": 1,}'],
    ["{'passphrase': 'single-q', 'ticker': 'X'}", `{'passphrase': "[redacted]", 'ticker': 'X'}`],
    ['{passphrase: bare-secret, ticker: X}', '{passphrase: "[redacted]", ticker: X}'],
    ['{"arr": ["a", ":"], "passphrase": "tricky1"}', '{"arr": ["a", ":"], "passphrase": "[redacted]"}'],
    ['{"passphrase": "a\\"b", "ticker":"Z"}', '{"passphrase": "[redacted]", "ticker":"Z"}'],
    ['{"passphrase": 123456789}', '{"passphrase": "[redacted]"}'],
    ['{"passphrase": "unterminated', '{"passphrase": "[redacted]"'],
    [
      '{"meta": {"apikey": "k", "token": 12345}, "comment": "passphrase: \\"x\\""}',
      '{"meta": {"apikey": "[redacted]", "token": "[redacted]"}, "comment": "passphrase: \\"x\\""}',
    ],
  ])('%s', (raw, shown) => {
    expect(redactBody(raw)).toBe(shown);
  });

  it('leaves bodies without secrets untouched', () => {
    for (const raw of [
      'buy @ 10 filled on MNQ1!. New strategy position is 10',
      '{"ticker":"MNQ1!","action":"buy","comment":"my passphrase is not here"}',
      '',
    ]) {
      expect(redactBody(raw)).toBe(raw);
    }
  });
});
