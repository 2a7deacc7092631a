// RequestFilter: a small, fixed rule set against path traversal, obvious SQL injection and XSS
// probes in the request path and query. Pattern matching on decoded text, not a WAF: it does not
// parse SQL or HTML, look at headers, cookies or bodies (JSON bodies get a size/syntax check in
// json-body.ts), or learn; it stops the noisy, well-known probes cheaply.

export interface FilterRule {
  id: string;
  /** What it matches, for the README and the logs. */
  what: string;
}

/** Rule ids are stable: they appear in logs, metrics and `filter.disabled`. */
export const URL_RULES: readonly FilterRule[] = [
  { id: 'traversal-dotdot', what: 'a ".." path segment, raw or percent-encoded once (%2e%2e, .%2e, overlong %c0%ae), in the path or a query value' },
  { id: 'traversal-double-encoded', what: 'a ".." segment that appears only after decoding twice (%252e%252e%252f)' },
  { id: 'traversal-backslash', what: 'a backslash in the path, raw or encoded (%5c, %255c)' },
  { id: 'null-byte', what: 'an encoded NUL (%00) in the path or query' },
  { id: 'sqli-union', what: 'UNION [ALL] SELECT, or a reference to information_schema' },
  { id: 'sqli-tautology', what: "a quote closed then OR/AND with a comparison (' or '1'='1), or OR n=m" },
  { id: 'sqli-comment', what: "a quote followed by a SQL comment (admin'-- , admin'#, '/*)" },
  { id: 'sqli-stacked', what: '"; DROP TABLE", "; DELETE FROM", "; INSERT INTO", "; UPDATE x SET", "; SHUTDOWN", "; EXEC xp_"' },
  { id: 'sqli-sleep', what: 'time-based probes: SLEEP(n), PG_SLEEP(n), BENCHMARK(n, WAITFOR DELAY \'' },
  { id: 'xss-script', what: 'a <script>, <iframe>, <object>, <embed> or <applet> tag' },
  { id: 'xss-handler', what: 'an HTML tag with an on*= event handler attribute (<img src=x onerror=...>, <svg/onload=...>)' },
  { id: 'xss-js-uri', what: 'a javascript:, vbscript: or data:text/html URI at the start of a value or after a quote, = or (' },
];

export const JSON_RULES: readonly FilterRule[] = [
  { id: 'json-too-large', what: 'a body larger than filter.maxJsonBytes on a JSON route (413)' },
  { id: 'json-content-type', what: 'a body whose Content-Type is not application/json or */*+json on a JSON route (415)' },
  { id: 'json-malformed', what: 'a body that is not valid JSON on a JSON route (400)' },
];

/** One percent-decoding pass over bytes as latin1: never throws, keeps invalid escapes as they are. */
export function decodeOnce(text: string): string {
  if (!text.includes('%')) return text;
  return text
    .replace(/%c0%ae|%e0%80%ae/gi, '.')
    .replace(/%c0%af|%e0%80%af/gi, '/')
    .replace(/%c1%9c/gi, '\\')
    .replace(/%u([0-9a-f]{4})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    .replace(/%([0-9a-f]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

const DOTDOT = /(^|[/\\])\.\.([/\\]|$)/;
/** In a query a value starts after "=" or "&". */
const QUERY_DOTDOT = /(^|[/\\=&])\.\.([/\\&]|$)/;
const INJECTION: readonly [string, RegExp][] = [
  ['sqli-union', /\bunion(\s+(all|distinct))?\s+select\b|\binformation_schema\b/],
  ['sqli-tautology', /['"`]\s*\)?\s*(or|and|\|\||&&)\b\s*\(?\s*['"`]?\w*['"`]?\s*(=|<|>|like\b)|\b(or|and)\s+\d+\s*=\s*\d+\b/],
  ['sqli-comment', /['"`]\s*\)?\s*(--|#|\/\*)/],
  ['sqli-stacked', /;\s*(drop\s+(table|database)|delete\s+from|insert\s+into|update\s+\w+\s+set|shutdown\b|exec(ute)?\s+(xp|sp)_)/],
  ['sqli-sleep', /\b(sleep|pg_sleep|benchmark)\s*\(\s*\d|\bwaitfor\s+delay\s+'/],
  ['xss-script', /<\s*\/?\s*(script|iframe|object|embed|applet)\b/],
  [
    'xss-handler',
    /<\s*(a|img|image|svg|body|iframe|input|video|audio|source|details|marquee|div|span|style|link|form|button|select|textarea|math|object|embed|frame|frameset|table|td|p|x)\b[^>]*?[\s/"']on[a-z]{3,}\s*=/,
  ],
  ['xss-js-uri', /(^|["'=(&])\s*(javascript|vbscript)\s*:|(^|["'=(&])\s*data\s*:\s*text\/html/],
];
/** Every injection pattern in one: a benign request costs one regular expression per text. */
const ANY_INJECTION = new RegExp(INJECTION.map(([, re]) => `(?:${re.source})`).join('|'));

/** Text as the injection patterns see it: lowercase, SQL comments as spaces, control chars gone. */
function normalize(text: string): string {
  return text
    .toLowerCase()
    .replace(/\/\*.*?\*\//g, ' ')
    .replace(/[\t\n\r\v\f]/g, '');
}

function injection(texts: readonly string[], disabled: ReadonlySet<string>): string | null {
  for (const raw of texts) {
    const t = normalize(raw);
    if (!ANY_INJECTION.test(t)) continue;
    for (const [id, re] of INJECTION) if (!disabled.has(id) && re.test(t)) return id;
  }
  return null;
}

/**
 * The first URL rule `target` (origin-form, path and query) breaks, or null. Rules in `disabled`
 * are skipped. Pure and synchronous: the path and the whole query, each decoded once and twice
 * ("+" as space in the query), against a handful of regular expressions.
 */
export function matchUrlRules(target: string, disabled: ReadonlySet<string> = new Set()): string | null {
  const hash = target.indexOf('#');
  const clean = hash === -1 ? target : target.slice(0, hash);
  const q = clean.indexOf('?');
  const path = q === -1 ? clean : clean.slice(0, q);
  const path1 = decodeOnce(path);
  const path2 = decodeOnce(path1);
  const query = q === -1 ? '' : clean.slice(q + 1).replace(/\+/g, ' ');
  const query1 = decodeOnce(query);
  const query2 = decodeOnce(query1);

  const on = (id: string) => !disabled.has(id);
  if (on('traversal-dotdot') && (DOTDOT.test(path) || DOTDOT.test(path1) || QUERY_DOTDOT.test(query1))) return 'traversal-dotdot';
  if (on('traversal-double-encoded') && (DOTDOT.test(path2) || DOTDOT.test(decodeOnce(path2)) || QUERY_DOTDOT.test(query2))) {
    return 'traversal-double-encoded';
  }
  if (on('traversal-backslash') && (path1.includes('\\') || path2.includes('\\'))) return 'traversal-backslash';
  if (on('null-byte') && (path1.includes('\0') || path2.includes('\0') || query1.includes('\0'))) return 'null-byte';
  const texts = [path1];
  if (path2 !== path1) texts.push(path2);
  if (query1 !== '') texts.push(query1);
  if (query2 !== query1) texts.push(query2);
  return injection(texts, disabled);
}
