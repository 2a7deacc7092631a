// The expectBody rule of an HTTP probe: a substring, or a regular expression written /source/flags.

export interface BodyExpectation {
  test(body: string): boolean;
  /** How the rule reads in a failure reason: `contain "ok"` or `match /^ok$/m`. */
  readonly describe: string;
}

/** Same reading as the config schema: only a whole `/source/flags` is a regular expression. */
const REGEX_FORM = /^\/(.*)\/([a-z]*)$/s;

/** Throws a SyntaxError for a malformed regular expression (config validation rejects those first). */
export function parseBodyExpectation(rule: string): BodyExpectation {
  const m = rule.startsWith('/') ? REGEX_FORM.exec(rule) : null;
  if (m) {
    // The g and y flags make RegExp.test stateful across calls; a probe needs a pure test.
    const re = new RegExp(m[1] ?? '', (m[2] ?? '').replace(/[gy]/g, ''));
    return { test: (body) => re.test(body), describe: `match ${rule}` };
  }
  return { test: (body) => body.includes(rule), describe: `contain ${JSON.stringify(rule)}` };
}
