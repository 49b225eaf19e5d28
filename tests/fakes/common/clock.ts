/**
 * The fake's notion of time: wall-clock plus an offset a test can advance (token expiry, p-ticket waits, session
 * idle time-outs and pacing windows are all read from it, so tests never sleep for them).
 */
export class FakeClock {
  private offsetMs = 0;
  private lastMicros = 0;

  nowMs(): number {
    return Date.now() + this.offsetMs;
  }

  /** Strictly increasing microseconds: orders created in the same millisecond still sort by submission. */
  stamp(): number {
    const micros = Math.max(this.nowMs() * 1000, this.lastMicros + 1);
    this.lastMicros = micros;
    return micros;
  }

  advance(ms: number): void {
    this.offsetMs += ms;
  }

  /** Back to wall-clock time; stamps stay monotonic. */
  reset(): void {
    this.offsetMs = 0;
  }
}

/** RFC3339 with microseconds, e.g. 2021-03-16T18:38:01.942282Z (Alpaca's shape). */
export function rfc3339Micros(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const iso = new Date(ms).toISOString(); // 2021-03-16T18:38:01.942Z
  const fraction = String(Math.floor(micros % 1_000_000)).padStart(6, '0');
  return `${iso.slice(0, 19)}.${fraction}Z`;
}

/** ISO-8601 with milliseconds (Tradovate's shape). */
export function isoMs(micros: number): string {
  return new Date(Math.floor(micros / 1000)).toISOString();
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})?)?$/;

/** Microseconds since the epoch from an RFC3339 timestamp or a bare date (UTC midnight), or null. */
export function parseRfc3339Micros(text: string): number | null {
  const match = RFC3339.exec(text.trim());
  if (!match) return null;
  const [, date, time, fraction, zone] = match;
  const ms = Date.parse(`${date}T${time ?? '00:00:00'}${zone ?? 'Z'}`);
  if (Number.isNaN(ms)) return null;
  const micros = fraction ? Number(fraction.padEnd(9, '0').slice(0, 6)) : 0;
  return ms * 1000 + micros;
}

/** IBKR's yyMMddHHmmss (UTC). */
export function yyMMddHHmmss(micros: number): string {
  const iso = new Date(Math.floor(micros / 1000)).toISOString();
  return `${iso.slice(2, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
}
