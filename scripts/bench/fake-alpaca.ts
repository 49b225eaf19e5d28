/**
 * The fake Alpaca of scripts/bench/signal-to-order.ts, as a process of its own so the load generator never delays
 * its clock or its answers. BENCH_FAKE_ACCOUNTS accounts (key ids from fakeAlpacaKeyId, one per benchmark
 * connection) with cash enough for every order, any symbol tradable at 100, fills at once. Each account holds
 * only its own connection's positions: the fake's buying-power check walks an account's positions on every order.
 * Listens on 127.0.0.1:PORT; the bench reads orders (with their `receivedAtMs`) from GET /__fake/state.
 */
import { startFakeAlpaca } from '../../tests/fakes/alpaca.ts';
import { FAKE_ALPACA_SECRET, fakeAlpacaKeyId } from './lib.ts';

const count = Number(process.env.BENCH_FAKE_ACCOUNTS);
const port = Number(process.env.PORT);
if (!Number.isInteger(count) || count < 1 || !Number.isInteger(port) || port < 1) {
  console.error('fake-alpaca: BENCH_FAKE_ACCOUNTS and PORT are required');
  process.exit(2);
}

const fake = await startFakeAlpaca({
  host: '127.0.0.1',
  port,
  defaultPrice: '100',
  accounts: Array.from({ length: count }, (_, i) => ({
    keyId: fakeAlpacaKeyId(i),
    secret: FAKE_ALPACA_SECRET,
    cash: '1000000000',
  })),
});

process.once('SIGTERM', () => {
  void fake.close().then(() => process.exit(0));
});
