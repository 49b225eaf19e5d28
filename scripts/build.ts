/**
 * Production build: `dist/api.js`, `dist/worker.js` and `dist/migrate.js`, each one ES module. Node 24 re-reads a
 * package's package.json for every ES module it loads from it, which makes drizzle-orm (hundreds of modules, a
 * 180 KB package.json) cost close to a second and ~250 MB at start-up; bundling drizzle-orm and zod into the entry
 * files removes that. Every other package stays external (native addons, BullMQ's Lua files, pino's transports).
 */
import { build } from 'esbuild';
import { projectPath } from '../server/lib/paths.ts';

const BUNDLED = new Set(['drizzle-orm', 'zod']);

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier);
}

const started = performance.now();
await build({
  entryPoints: {
    api: projectPath('server/api.ts'),
    worker: projectPath('server/worker.ts'),
    migrate: projectPath('scripts/migrate.ts'),
  },
  outdir: projectPath('dist'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  sourcemap: true,
  logLevel: 'warning',
  plugins: [
    {
      name: 'external-packages',
      setup(builder) {
        // Bare specifiers (packages) are external unless listed; relative and `#` imports are our own code.
        builder.onResolve({ filter: /^[^./#]/ }, (args) =>
          BUNDLED.has(packageName(args.path)) ? undefined : { path: args.path, external: true },
        );
      },
    },
  ],
});
console.log(`build: dist/ written in ${Math.round(performance.now() - started)} ms`);
