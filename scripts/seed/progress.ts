/**
 * Progress of a long write on stderr. On a terminal: one bar redrawn in place (at most ten times a second). Piped or
 * redirected (CI, the benchmarks): a plain line every tenth of the way or every 15 s, whichever comes first, so logs
 * stay readable.
 */

const count = new Intl.NumberFormat('en-US');

export interface Progress {
  advance(done: number): void;
  /** Ends the bar; returns the elapsed seconds. */
  finish(): number;
}

function clock(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function createProgress(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  const started = performance.now();
  const tty = stream.isTTY === true;
  let done = 0;
  let drawnAt = 0;
  let reportedTenth = 0;

  const line = (withBar: boolean) => {
    const elapsedS = (performance.now() - started) / 1000;
    const rate = elapsedS > 0 ? done / elapsedS : 0;
    const eta = rate > 0 ? (total - done) / rate : Number.POSITIVE_INFINITY;
    const share = total > 0 ? done / total : 1;
    const stats = `${(share * 100).toFixed(1).padStart(5)}% ${count.format(done)}/${count.format(total)} ${label}, ${count.format(Math.round(rate))} rows/s, ${clock(elapsedS)} elapsed, ETA ${clock(eta)}`;
    if (!withBar) return stats;
    const width = Math.max(10, Math.min(40, (stream.columns ?? 100) - stats.length - 4));
    const filled = Math.round(share * width);
    return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${stats}`;
  };

  return {
    advance(n) {
      done += n;
      const now = performance.now();
      if (tty) {
        if (now - drawnAt < 100 && done < total) return;
        drawnAt = now;
        stream.write(`\r${line(true)}\x1b[K`);
        return;
      }
      const tenth = total > 0 ? Math.floor((done / total) * 10) : 10;
      if (tenth > reportedTenth || now - drawnAt > 15_000) {
        reportedTenth = tenth;
        drawnAt = now;
        stream.write(`${line(false)}\n`);
      }
    },
    finish() {
      if (tty) stream.write(`\r${line(true)}\x1b[K\n`);
      return (performance.now() - started) / 1000;
    },
  };
}
