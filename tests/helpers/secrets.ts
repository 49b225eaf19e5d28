import { rememberSecrets } from '../setup/log-secrecy.ts';

/** Registers secrets this test created; the run fails if any of them shows up in the logs (tests/setup/log-secrecy.ts). */
export function rememberSecret(...values: string[]): void {
  const file = process.env.FILLPATH_TEST_SECRETS_FILE;
  if (file) rememberSecrets(file, ...values);
}
