// The storage directory itself: making sure renames, creates and unlinks in it survive a crash.
import { open } from 'node:fs/promises';

/** fsync the directory so entries created, renamed or removed in it are durable (POSIX needs this separately). */
export async function syncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
