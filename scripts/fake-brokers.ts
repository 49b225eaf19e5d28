/**
 * The three fake brokers on fixed loopback ports, for `npm run dev` and manual demos (SPEC §6): point
 * ALPACA_PAPER_URL, TRADOVATE_DEMO_URL and IBKR_GATEWAY_URL at the printed URLs and trade with no broker account.
 * Any symbol trades at 100 unless it has a mark of its own; the IBKR gateway starts logged in.
 * Switches: POST http://127.0.0.1:<port>/__fake/<name> (reset, price, fills, faults, reject-next, …; see tests/fakes).
 *
 *   node scripts/fake-brokers.ts [--alpaca-port 4010] [--tradovate-port 4020] [--ibkr-port 4030] [--host 127.0.0.1]
 *                                [--ibkr-tls-key key.pem --ibkr-tls-cert cert.pem]   (HTTPS, like the real gateway)
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startFakeAlpaca } from '../tests/fakes/alpaca.ts';
import { startFakeIbkr } from '../tests/fakes/ibkr.ts';
import { startFakeTradovate } from '../tests/fakes/tradovate.ts';

const { values } = parseArgs({
  options: {
    'alpaca-port': { type: 'string', default: '4010' },
    'tradovate-port': { type: 'string', default: '4020' },
    'ibkr-port': { type: 'string', default: '4030' },
    host: { type: 'string', default: '127.0.0.1' },
    'ibkr-tls-key': { type: 'string' },
    'ibkr-tls-cert': { type: 'string' },
  },
});

function port(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > 65_535) {
    console.error(`fake-brokers: --${name} must be a port number, got "${text}"`);
    process.exit(2);
  }
  return value;
}

const host = values.host;
const demo = { host, defaultPrice: '100' };
let fakes: Array<{ close(): Promise<void> }> = [];
try {
  const alpaca = await startFakeAlpaca({ ...demo, port: port('alpaca-port', values['alpaca-port']) });
  fakes.push(alpaca);
  const tradovate = await startFakeTradovate({ ...demo, port: port('tradovate-port', values['tradovate-port']) });
  fakes.push(tradovate);
  const keyFile = values['ibkr-tls-key'];
  const certFile = values['ibkr-tls-cert'];
  const tls = keyFile && certFile ? { key: readFileSync(keyFile), cert: readFileSync(certFile) } : undefined;
  const ibkrPort = port('ibkr-port', values['ibkr-port']);
  const ibkr = await startFakeIbkr({ ...demo, port: ibkrPort, authenticated: true, ...(tls ? { tls } : {}) });
  fakes.push(ibkr);
  console.log(`fake alpaca     ${alpaca.url}  key id PKFAKEKEY0000000001, secret fake-secret`);
  console.log(`fake tradovate  ${tradovate.url}  name fakeuser, password fake-password, cid 8, sec fake-sec`);
  console.log(`fake ibkr       ${ibkr.url}  account DU1234567 (logged in)`);
} catch (error) {
  console.error(`fake-brokers: could not start: ${error instanceof Error ? error.message : String(error)}`);
  await Promise.all(fakes.map((f) => f.close()));
  process.exit(1);
}

let stopping = false;
async function stop(signal: NodeJS.Signals): Promise<void> {
  if (stopping) return;
  stopping = true;
  const open = fakes;
  fakes = [];
  await Promise.all(open.map((f) => f.close()));
  process.exitCode = signal === 'SIGINT' ? 130 : 0;
}
process.once('SIGINT', () => void stop('SIGINT'));
process.once('SIGTERM', () => void stop('SIGTERM'));
