/**
 * `npm run lint:deploy` (part of `npm test`): checks the deployment files without Docker, which CI does not have.
 * - Dockerfile: dockerfile-utils (the Docker language server's validator: instruction syntax, flags, durations,
 *   ports, duplicate CMD/ENTRYPOINT/HEALTHCHECK), then what the README promises of the image: Node of the .nvmrc
 *   major, a non-root user, tini as PID 1, a HEALTHCHECK on /health/live, the Node memory flags of node-memory.ts.
 * - docker-compose.yml: dclint (the Compose specification's schema plus best-practice rules), then the promises
 *   about the stack: Redis with noeviction and AOF, the migrations as a one-shot that api and worker wait for, and
 *   only real Fillpath variables in the containers' environment, the api's and worker's memory limit.
 * - README.md: every variable of .env.example (which tests/unit/env.test.ts ties to server/lib/env.ts) is documented.
 * Prints one line per problem and exits 1 when there is any.
 */
import { readFileSync } from 'node:fs';
import { DCLinter } from 'dclint';
import { validate } from 'dockerfile-utils';
import { parse } from 'yaml';
import { projectPath } from '../server/lib/paths.ts';
import { COMMAND_NODE_FLAGS, CONTAINER_MEMORY_MB, IMAGE_NODE_OPTIONS } from './node-memory.ts';

const problems: string[] = [];
const problem = (file: string, message: string) => problems.push(`${file}: ${message}`);
const read = (file: string) => readFileSync(projectPath(file), 'utf8');

// --- Dockerfile ---
const dockerfile = read('Dockerfile');
for (const diagnostic of validate(dockerfile)) {
  problem('Dockerfile', `line ${diagnostic.range.start.line + 1}: ${diagnostic.message}`);
}
const nodeMajor = read('.nvmrc').trim().replace(/^v/, '').split('.')[0];
const stages = dockerfile.split(/^FROM\s/m).slice(1);
const runtime = stages.at(-1) ?? '';
if (!new RegExp(`node:${nodeMajor}[-.]`).test(dockerfile)) {
  problem('Dockerfile', `the base image must be node:${nodeMajor} (the .nvmrc major)`);
}
const users = [...runtime.matchAll(/^USER\s+(\S+)/gm)].map((match) => match[1]);
if (users.length === 0 || ['root', '0'].includes(users.at(-1) ?? '')) {
  problem('Dockerfile', 'the final stage must run as a non-root USER');
}
if (!/^ENTRYPOINT\s+\[\s*"[^"]*tini"/m.test(runtime)) {
  problem('Dockerfile', 'the final stage must have tini as its ENTRYPOINT (PID 1 forwards signals and reaps)');
}
if (!/^HEALTHCHECK\s[\s\S]*?\/health\/live/m.test(runtime)) {
  problem('Dockerfile', 'the final stage must have a HEALTHCHECK on /health/live');
}
const nodeOptions = runtime.match(/^ENV\s+NODE_OPTIONS="([^"]*)"/m)?.[1];
if (nodeOptions !== IMAGE_NODE_OPTIONS) {
  problem('Dockerfile', `the final stage must set NODE_OPTIONS="${IMAGE_NODE_OPTIONS}" (scripts/node-memory.ts)`);
}
const imageCommand = runtime.match(/^CMD\s+(\[.*\])\s*$/m)?.[1];
if (!imageCommand || !COMMAND_NODE_FLAGS.every((flag) => (JSON.parse(imageCommand) as string[]).includes(flag))) {
  problem('Dockerfile', `the final stage's CMD must pass ${COMMAND_NODE_FLAGS.join(' ')} (scripts/node-memory.ts)`);
}

// --- docker-compose.yml ---
const config = {
  rules: {
    // Ordering rules are taste: this file orders services by start-up and keys by reading order.
    'service-keys-order': 0,
    'services-alphabetical-order': 0,
    'service-dependencies-alphabetical-order': 0,
    'service-ports-alphabetical-order': 0,
    'top-level-properties-order': 0,
    // Quoted, as the rule asks, but with Biome's double quotes (Biome formats this file too).
    'require-quotes-in-ports': [2, { quoteType: 'double' }],
  },
  quiet: false,
  debug: false,
  exclude: [],
} as ConstructorParameters<typeof DCLinter>[0];
for (const result of new DCLinter(config).lintFiles([projectPath('docker-compose.yml')], false)) {
  for (const message of result.messages) {
    problem('docker-compose.yml', `line ${message.line}: ${message.message} (${message.rule})`);
  }
}

interface ComposeService {
  command?: string | string[];
  restart?: string;
  environment?: Record<string, unknown>;
  depends_on?: Record<string, { condition?: string }>;
  mem_limit?: string;
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services?: Record<string, ComposeService> };
const services = compose.services ?? {};
const words = (command: ComposeService['command']) => (Array.isArray(command) ? command.join(' ') : (command ?? ''));
const redis = words(services.redis?.command);
for (const flag of ['--maxmemory-policy noeviction', '--appendonly yes']) {
  if (!redis.includes(flag)) problem('docker-compose.yml', `redis must run with ${flag} (lost keys are lost jobs)`);
}
if (!words(services.migrate?.command).includes('dist/migrate.js') || services.migrate?.restart !== 'no') {
  problem('docker-compose.yml', 'migrate must be a one-shot service (restart "no") running dist/migrate.js');
}
for (const name of ['api', 'worker']) {
  if (services[name]?.depends_on?.migrate?.condition !== 'service_completed_successfully') {
    problem('docker-compose.yml', `${name} must depend on migrate with condition service_completed_successfully`);
  }
  if (!COMMAND_NODE_FLAGS.every((flag) => words(services[name]?.command).split(' ').includes(flag))) {
    problem(
      'docker-compose.yml',
      `${name}'s command must pass ${COMMAND_NODE_FLAGS.join(' ')} (scripts/node-memory.ts)`,
    );
  }
  if (services[name]?.mem_limit !== `${CONTAINER_MEMORY_MB}m`) {
    problem('docker-compose.yml', `${name} must have mem_limit ${CONTAINER_MEMORY_MB}m (scripts/node-memory.ts)`);
  }
}

// --- variables: .env.example, the containers' environment, README ---
const variables = read('.env.example')
  .split('\n')
  .filter((line) => /^[A-Z_]+=/.test(line))
  .map((line) => line.slice(0, line.indexOf('=')));
for (const [name, service] of Object.entries(services)) {
  if (!['api', 'worker', 'migrate'].includes(name)) continue;
  for (const key of Object.keys(service.environment ?? {})) {
    if (!variables.includes(key)) problem('docker-compose.yml', `${name} sets ${key}, which Fillpath does not read`);
  }
}
const readme = read('README.md');
for (const key of variables) {
  if (!readme.includes(`\`${key}\``)) problem('README.md', `the configuration table does not document \`${key}\``);
}

if (problems.length === 0) {
  console.log('lint:deploy: Dockerfile, docker-compose.yml and README variables ok');
} else {
  for (const line of problems) console.error(line);
  console.error(`lint:deploy: ${problems.length} problem(s)`);
  process.exitCode = 1;
}
