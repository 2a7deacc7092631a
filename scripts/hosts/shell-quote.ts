// POSIX shell quoting for the one place a command line must be a string: an SSH exec request.

/** `word` as one shell word: left bare when it is plainly safe, else in single quotes. */
export function quoteWord(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `cmd args` as a command line that the remote shell splits back into exactly these words. */
export function commandLine(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map(quoteWord).join(' ');
}
