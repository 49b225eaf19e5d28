/** The Tradovate REST adapter: what the broker registry needs. */
export { createTradovateAdapter, TRADOVATE_PACING, type TradovateAdapterOptions } from './adapter.ts';
