/**
 * The whole suite logs at debug level into one file per run, and tests register every secret they create (passwords,
 * tokens, credentials, channel targets). At the end of the run no registered secret may appear in the logs, and no
 * secret-looking field may appear unredacted.
 */
import { appendFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const logFilePath = (runId: string) => join(tmpdir(), `fillpath-test-${runId}.log`);
export const secretsFilePath = (runId: string) => join(tmpdir(), `fillpath-test-${runId}.secrets`);

/** Records secrets a test created, so the end-of-run check can look for them in the logs. */
export function rememberSecrets(file: string, ...values: string[]): void {
  const worthChecking = values.filter((value) => value.length >= 8);
  if (worthChecking.length > 0) appendFileSync(file, `${worthChecking.map((v) => JSON.stringify(v)).join('\n')}\n`);
}

// Fields that must only ever appear as "[redacted]" in a log line.
const SECRET_FIELD =
  /"(password|currentPassword|newPassword|refreshToken|accessToken|secret|credentials|authorization|passphrase)":"(?!\[redacted\])/;

// Secrets recognisable by their form even when no test registered them.
const SECRET_SHAPES: Array<[string, RegExp]> = [
  ['a password hash', /\$argon2id\$/],
  ['a stored ciphertext', /v1:[A-Za-z0-9_-]{1,16}:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{22}:/],
  ['a bearer token', /Bearer [A-Za-z0-9_-]{20,}\./],
];

export function findLeaks(runId: string): { lines: number; leaks: string[] } {
  const logFile = logFilePath(runId);
  if (!existsSync(logFile)) return { lines: 0, leaks: [] };
  const logs = readFileSync(logFile, 'utf8');
  const secretsFile = secretsFilePath(runId);
  const secrets = existsSync(secretsFile)
    ? readFileSync(secretsFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as string)
    : [];
  const leaks: string[] = [];
  const lines = logs.split('\n');
  for (const secret of new Set(secrets)) {
    const line = lines.findIndex((text) => text.includes(secret));
    if (line >= 0) leaks.push(`a registered secret (${secret.slice(0, 3)}…) appears on log line ${line + 1}`);
  }
  lines.forEach((text, index) => {
    const field = SECRET_FIELD.exec(text)?.[1];
    if (field) leaks.push(`field "${field}" is logged unredacted on log line ${index + 1}`);
    const shape = SECRET_SHAPES.find(([, pattern]) => pattern.test(text))?.[0];
    if (shape) leaks.push(`${shape} appears on log line ${index + 1}`);
  });
  return { lines: lines.length, leaks };
}

export function removeRunFiles(runId: string): void {
  rmSync(logFilePath(runId), { force: true });
  rmSync(secretsFilePath(runId), { force: true });
}
