/**
 * The first thing the api and the worker load (SPEC §10: Sentry starts before other imports): the first import of
 * server/api.ts and server/worker.ts, and in the production bundle dist/instrument.js, which dist/api.js and
 * dist/worker.js load before their main module (scripts/build.ts). Without SENTRY_DSN it only reads the settings.
 */
import { basename } from 'node:path';
import { initSentry } from './lib/sentry.ts';

// `dist/api.js`, `server/worker.ts` → `api`, `worker`: which process an event came from.
const entry = basename(process.argv[1] ?? '').replace(/\.(main\.)?[jt]s$/, '');
await initSentry({ processName: entry === 'api' || entry === 'worker' ? entry : undefined });
