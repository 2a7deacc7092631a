// LogSinks: where access log lines go (stdout or files), shared by a worker's listeners, and
// reopened together on SIGHUP so logrotate can move files away.
//
// Files are pino's destination (SonicBoom): buffered asynchronous appends with O_APPEND, and a
// reopen() made for exactly this rotation dance. Several workers append to one file; each
// flush is one write(2) of whole lines, so lines do not interleave on local file systems.
import { pino } from 'pino';

export interface LogSink {
  write(line: string): void;
}

type Destination = ReturnType<typeof pino.destination>;

export class LogSinks {
  private readonly files = new Map<string, Destination>();

  sink(path: string): LogSink {
    if (path === 'stdout' || path === '-') return { write: (line) => process.stdout.write(`${line}\n`) };
    let dest = this.files.get(path);
    if (dest === undefined) {
      dest = pino.destination({ dest: path, append: true, mkdir: true, sync: false });
      // An unwritable file must not crash the worker; the lines are lost, which the log says once.
      dest.on('error', (err: unknown) => process.stderr.write(`ballast access log ${path}: ${String(err)}\n`));
      this.files.set(path, dest);
    }
    const d = dest;
    return { write: (line) => d.write(`${line}\n`) };
  }

  /** Rotation: flush what is buffered into the old file, then open the path anew. */
  reopen(): void {
    for (const dest of this.files.values()) {
      try {
        dest.reopen();
      } catch (err) {
        process.stderr.write(`ballast access log reopen failed: ${String(err)}\n`);
      }
    }
  }

  /** Files no listener logs to any more are closed (after flushing). */
  keepOnly(paths: ReadonlySet<string>): void {
    for (const [path, dest] of this.files) {
      if (paths.has(path)) continue;
      this.files.delete(path);
      dest.end();
    }
  }

  flush(): void {
    for (const dest of this.files.values()) {
      try {
        dest.flushSync();
      } catch {
        // Nothing buffered, or the file is gone: nothing to save.
      }
    }
  }
}
