export { ALPACA_PACING, createAlpacaAdapter } from './adapter.ts';
