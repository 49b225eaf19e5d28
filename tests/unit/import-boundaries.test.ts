/**
 * The import direction of ARCHITECTURE.md, enforced: shared ← drizzle/schema ← server/lib ← server/db, server/audit
 * ← server/services ← {server/trpc, server/http, server/jobs/processors} ← entry points. A layer may import its own
 * layer and the layers to its left, never one to its right.
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

/** Project-relative targets of every static or dynamic import in a file (packages are returned as-is). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'([^']+)'|import\('([^']+)'\)/g)].map(
    (match) => match[1] ?? match[2] ?? '',
  );
  return specifiers.map((spec) => {
    if (spec.startsWith('#shared/')) return `shared/${spec.slice(8)}`;
    if (spec.startsWith('#drizzle/')) return `drizzle/${spec.slice(9)}`;
    if (spec.startsWith('#server/')) return `server/${spec.slice(8)}`;
    if (spec.startsWith('.')) return relative(root, resolve(root, dirname(file), spec));
    return spec;
  });
}

const LAYERS: Array<[string, string[]]> = [
  ['shared/', []],
  ['drizzle/', ['shared/']],
  ['server/lib/', ['shared/']],
  ['server/brokers/', ['shared/', 'server/lib/']],
  ['server/db/', ['shared/', 'drizzle/', 'server/lib/']],
  ['server/audit/', ['shared/', 'drizzle/', 'server/lib/', 'server/db/', 'server/services/context.ts']],
  [
    'server/services/',
    ['shared/', 'drizzle/', 'server/lib/', 'server/db/', 'server/audit/', 'server/brokers/', 'server/jobs/queue'],
  ],
];

function layerOf(file: string) {
  return LAYERS.find(([prefix]) => file.startsWith(prefix));
}

describe('import boundaries', () => {
  const files = [...sourceFiles('shared'), ...sourceFiles('drizzle/schema'), ...sourceFiles('server')];

  it('keeps every layer to its own code and the layers below it', () => {
    const violations: string[] = [];
    for (const file of files) {
      const layer = layerOf(file);
      if (!layer) continue;
      const [prefix, allowed] = layer;
      for (const target of importsOf(file)) {
        const local = /^(shared|drizzle|server|tests|scripts)\//.test(target);
        if (!local) continue;
        if (target.startsWith(prefix) || allowed.some((ok) => target.startsWith(ok))) continue;
        violations.push(`${file} → ${target}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('keeps shared/ browser-safe: no Node built-ins, Drizzle, database or server packages', () => {
    const forbidden = new Set([...builtinModules, 'drizzle-orm', 'mysql2', 'ioredis', 'bullmq', 'fastify', 'pino']);
    const violations = sourceFiles('shared').flatMap((file) =>
      importsOf(file)
        .filter((target) => target.startsWith('node:') || forbidden.has(target.split('/')[0] ?? target))
        .map((target) => `${file} → ${target}`),
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
