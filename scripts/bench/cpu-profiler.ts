// Preload (`--import`) that records a V8 CPU profile of the whole process and writes it on exit.
// Used instead of --cpu-prof because NODE_OPTIONS refuses that flag and Ballast's workers get
// their execArgv from the supervisor; NODE_OPTIONS `--import` reaches them all.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env['BENCH_CPU_PROF_DIR'];
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  // 200 us: enough samples from a 10 s run to rank functions, cheap enough not to skew them.
  session.post('Profiler.setSamplingInterval', { interval: 200 });
  session.post('Profiler.start');
  const role = process.env['BALLAST_WORKER_ID'] ?? 'node';
  process.once('exit', () => {
    // The in-process inspector session answers synchronously, so this completes inside 'exit'.
    session.post('Profiler.stop', (err, result) => {
      if (err) return;
      writeFileSync(join(dir, `${role}-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
