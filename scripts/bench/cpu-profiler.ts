// Preload (`--import`) that records V8 CPU profiles of a process, used instead of --cpu-prof because
// NODE_OPTIONS refuses that flag and Ballast's workers get their execArgv from the supervisor;
// NODE_OPTIONS `--import` reaches them all. With BENCH_CPU_PROF_WINDOW=1 it records only between
// two SIGUSR2 (the benchmark sends them around each measured run, so start-up stays out of the
// profile) and writes one file per window; otherwise it records the whole life of the process.
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
  const role = process.env['BALLAST_WORKER_ID'] ?? 'node';
  let windows = 0;
  let recording = false;
  const start = () => {
    session.post('Profiler.start');
    recording = true;
  };
  const stop = () => {
    recording = false;
    // The in-process inspector session answers synchronously, so this completes even inside 'exit'.
    session.post('Profiler.stop', (err, result) => {
      if (err) return;
      windows++;
      writeFileSync(join(dir, `${role}-${process.pid}-${windows}.cpuprofile`), JSON.stringify(result.profile));
    });
  };
  if (process.env['BENCH_CPU_PROF_WINDOW'] === '1') {
    process.on('SIGUSR2', () => (recording ? stop() : start()));
  } else {
    start();
  }
  process.once('exit', () => {
    if (recording) stop();
  });
}
