/**
 * The import direction of ARCHITECTURE.md, enforced: shared ← drizzle/schema ← server/lib ← server/db, server/audit
 * ← server/services ← {server/trpc, server/http, server/jobs} ← entry points (server/app.ts, api.ts, worker.ts,
 * scripts/). A layer may import its own layer and the layers LAYERS lists for it, never another; transports reach
 * data only through services. EXCEPTIONS name the few type-only imports across that line, each with its reason.
 * Every .ts file under server/ and scripts/ must belong to a layer, so a new directory cannot slip past the rules.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

interface Import {
  /** Project-relative path (`server/db/client.ts`), or the package name as written. */
  target: string;
  /** `import type … from` / `export type … from`: erased at runtime. */
  typeOnly: boolean;
}

/** Every static or dynamic import in a file. */
function importsOf(file: string): Import[] {
  const text = readFileSync(join(root, file), 'utf8');
  const statements = /(?:^|\n)\s*(?:import|export)(\s+type\b)?[^'"]*?from\s+'([^']+)'|import\('([^']+)'\)/g;
  return [...text.matchAll(statements)].map((match) => ({
    target: resolveSpecifier(file, match[2] ?? match[3] ?? ''),
    typeOnly: match[1] !== undefined,
  }));
}

function resolveSpecifier(file: string, spec: string): string {
  if (spec.startsWith('#shared/')) return `shared/${spec.slice(8)}`;
  if (spec.startsWith('#drizzle/')) return `drizzle/${spec.slice(9)}`;
  if (spec.startsWith('#server/')) return `server/${spec.slice(8)}`;
  if (spec.startsWith('.')) return relative(root, resolve(root, dirname(file), spec));
  return spec;
}

/** Entry points build the infrastructure (pools, Redis, queues, the app, the CLI tools) and wire it together. */
const ENTRY = ['shared/', 'server/'];
/** Routers, HTTP routes and job processors parse, call services and shape answers: no drizzle/, no server/db. */
const TRANSPORT = ['shared/', 'server/lib/', 'server/services/'];

/** [path prefix, what it may import besides its own prefix]; the first matching prefix is a file's layer. */
const LAYERS: Array<[string, string[]]> = [
  ['shared/', []],
  ['drizzle/', ['shared/']],
  ['server/lib/', ['shared/']],
  ['server/brokers/', ['shared/', 'server/lib/']],
  ['server/db/', ['shared/', 'drizzle/', 'server/lib/']],
  ['server/audit/', ['shared/', 'drizzle/', 'server/lib/', 'server/db/']],
  [
    'server/services/',
    ['shared/', 'drizzle/', 'server/lib/', 'server/db/', 'server/audit/', 'server/brokers/', 'server/jobs/queue'],
  ],
  ['server/trpc/', TRANSPORT],
  ['server/http/', TRANSPORT],
  ['server/jobs/', TRANSPORT],
  ['server/app.ts', ENTRY],
  // Loaded first by api.ts and worker.ts (Sentry before every other module).
  ['server/instrument.ts', ENTRY],
  ['server/api.ts', ENTRY],
  ['server/worker.ts', ENTRY],
  // fake-brokers.ts serves the test fakes for `npm run dev`.
  ['scripts/', [...ENTRY, 'tests/fakes/']],
];

/** [file prefix, target prefix, why]: allowed as `import type` only, since a runtime import would invert the layers. */
const EXCEPTIONS: Array<[string, string, string]> = [
  ['server/audit/', 'server/services/context.ts', 'the ServiceContext an audit row takes its actor and request from'],
  ['server/trpc/context.ts', 'server/app.ts', 'AppDeps, the dependencies the per-request context is built from'],
  ['server/jobs/processors/', 'server/db/client.ts', "DatabaseHandle, injected to build a job's ServiceContext"],
  ['server/jobs/processors/', 'server/brokers/registry.ts', "BrokerRegistry, the worker's adapters, injected"],
];

function layerOf(file: string) {
  return LAYERS.find(([prefix]) => file.startsWith(prefix));
}

/** The imports of `file` its layer forbids, as `file → target` lines. */
function violations(file: string, imports: Import[]): string[] {
  const layer = layerOf(file);
  if (!layer) return [`${file} belongs to no layer: add it to LAYERS`];
  const [prefix, allowed] = layer;
  return imports
    .filter(({ target, typeOnly }) => {
      if (!/^(shared|drizzle|server|tests|scripts)\//.test(target)) return false; // a package
      if (target.startsWith(prefix) || allowed.some((ok) => target.startsWith(ok))) return false;
      return !(typeOnly && EXCEPTIONS.some(([from, to]) => file.startsWith(from) && target.startsWith(to)));
    })
    .map(({ target, typeOnly }) => `${file} → ${target}${typeOnly ? ' (type)' : ''}`);
}

describe('import boundaries', () => {
  const files = [...sourceFiles('shared'), ...sourceFiles('drizzle/schema'), ...sourceFiles('server')];

  it('keeps every layer to its own code and the layers it may use', () => {
    const found = [...files, ...sourceFiles('scripts')].flatMap((file) => violations(file, importsOf(file)));
    expect(found).toEqual([]);
  });

  it.each([
    ['server/trpc/routers/x.ts', 'drizzle/schema/users.ts', false],
    ['server/trpc/routers/x.ts', 'server/db/client.ts', true],
    ['server/trpc/routers/x.ts', 'server/http/errors.ts', false],
    ['server/http/x.ts', 'server/db/transaction.ts', false],
    ['server/http/x.ts', 'server/trpc/init.ts', false],
    ['server/jobs/processors/x.ts', 'drizzle/schema/sessions.ts', false],
    ['server/jobs/processors/x.ts', 'server/db/client.ts', false],
    ['server/jobs/processors/x.ts', 'server/db/transaction.ts', true],
    ['server/trpc/context.ts', 'server/app.ts', false],
    ['server/audit/emit.ts', 'server/services/context.ts', false],
    ['server/services/x.ts', 'server/trpc/init.ts', true],
    ['server/db/x.ts', 'server/services/context.ts', true],
    ['scripts/x.ts', 'tests/helpers/app.ts', false],
    ['server/cron/x.ts', 'shared/enums.ts', false],
  ])('refuses %s → %s (type-only: %s)', (file, target, typeOnly) => {
    expect(violations(file, [{ target, typeOnly }])).toHaveLength(1);
  });

  it.each([
    ['server/trpc/routers/x.ts', 'server/services/strategies/create.ts'],
    ['server/http/x.ts', 'server/lib/rate-limit.ts'],
    ['server/jobs/processors/x.ts', 'shared/jobs.ts'],
    ['server/worker.ts', 'server/db/client.ts'],
    ['scripts/x.ts', 'server/services/maintenance/rotate-keys.ts'],
  ])('allows %s → %s', (file, target) => {
    expect(violations(file, [{ target, typeOnly: false }])).toEqual([]);
  });

  it('allows the listed exceptions as type-only imports', () => {
    for (const [from, to] of EXCEPTIONS) {
      expect(violations(from.endsWith('/') ? `${from}x.ts` : from, [{ target: to, typeOnly: true }])).toEqual([]);
    }
  });

  it('keeps shared/ browser-safe: no Node built-ins, Drizzle, database or server packages', () => {
    const forbidden = new Set([...builtinModules, 'drizzle-orm', 'mysql2', 'ioredis', 'bullmq', 'fastify', 'pino']);
    const violations = sourceFiles('shared').flatMap((file) =>
      importsOf(file)
        .filter(({ target }) => target.startsWith('node:') || forbidden.has(target.split('/')[0] ?? target))
        .map(({ target }) => `${file} → ${target}`),
    );
    expect(violations).toEqual([]);
  });

  it('reads process.env only in server/lib/env.ts', () => {
    const readers = files.filter(
      (file) => file !== 'server/lib/env.ts' && readFileSync(join(root, file), 'utf8').includes('process.env'),
    );
    expect(readers).toEqual([]);
  });
});
