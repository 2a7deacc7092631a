// The request filter's rule table: attacks (with the rule expected to catch each) and benign
// lookalikes that must pass; zero false positives on the benign set.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeOnce, matchUrlRules, URL_RULES } from '../../lb/edge/request-filter.js';

const ATTACKS: [string, string][] = [
  ['/../../etc/passwd', 'traversal-dotdot'],
  ['/static/../../../etc/shadow', 'traversal-dotdot'],
  ['/static/%2e%2e/%2e%2e/etc/passwd', 'traversal-dotdot'],
  ['/static/.%2e/secret', 'traversal-dotdot'],
  ['/static/%2E%2E%2Fconfig', 'traversal-dotdot'],
  ['/download?file=../../etc/passwd', 'traversal-dotdot'],
  ['/download?file=..%2f..%2fetc%2fpasswd', 'traversal-dotdot'],
  ['/static/%c0%ae%c0%ae/etc/passwd', 'traversal-dotdot'],
  ['/static/%252e%252e%252fetc%252fpasswd', 'traversal-double-encoded'],
  ['/static/%252e%252e/boot.ini', 'traversal-double-encoded'],
  ['/download?file=%252e%252e%252fsecret', 'traversal-double-encoded'],
  ['/static/..\\..\\windows\\win.ini', 'traversal-dotdot'],
  ['/static\\admin', 'traversal-backslash'],
  ['/static/%5cadmin', 'traversal-backslash'],
  ['/static/%255cadmin', 'traversal-backslash'],
  ['/image.png%00.php', 'null-byte'],
  ['/search?q=1%00', 'null-byte'],
  ['/items?id=1 UNION SELECT username, password FROM users', 'sqli-union'],
  ['/items?id=1%20union%20all%20select%20null,null--', 'sqli-union'],
  ['/items?id=1/**/UNION/**/SELECT/**/1', 'sqli-union'],
  ['/items?id=1+union+select+1,2', 'sqli-union'],
  ['/items?q=select+table_name+from+information_schema.tables', 'sqli-union'],
  ["/login?user=admin'+or+'1'='1", 'sqli-tautology'],
  ["/login?user=%27%20OR%20%271%27%3D%271", 'sqli-tautology'],
  ['/items?id=1 or 1=1', 'sqli-tautology'],
  ['/login?user=" or ""="', 'sqli-tautology'],
  ["/login?user=admin'--", 'sqli-comment'],
  ["/login?user=admin'%23", 'sqli-comment'],
  ["/login?user=admin'/*", 'sqli-comment'],
  ['/items?id=1;DROP TABLE users', 'sqli-stacked'],
  ['/items?id=1%3B%20delete%20from%20accounts', 'sqli-stacked'],
  ['/items?id=1; EXEC xp_cmdshell(\'dir\')', 'sqli-stacked'],
  ['/items?id=1 AND SLEEP(5)', 'sqli-sleep'],
  ["/items?id=1';WAITFOR DELAY '0:0:5'--", 'sqli-comment'],
  ['/items?id=1 and benchmark(5000000,md5(1))', 'sqli-sleep'],
  ['/search?q=<script>alert(1)</script>', 'xss-script'],
  ['/search?q=%3Cscript%3Ealert(document.cookie)%3C/script%3E', 'xss-script'],
  ['/search?q=%253Cscript%253Ealert(1)', 'xss-script'],
  ['/search?q=<ScRiPt src=//evil.example/x.js>', 'xss-script'],
  ['/search?q=<iframe src=javascript:alert(1)>', 'xss-script'],
  ['/search?q=<img src=x onerror=alert(1)>', 'xss-handler'],
  ['/search?q=<svg/onload=alert(1)>', 'xss-handler'],
  ['/search?q=%3Cbody%20onload%3Dalert(1)%3E', 'xss-handler'],
  ['/redirect?next=javascript:alert(1)', 'xss-js-uri'],
  ['/redirect?next=JaVaScRiPt%3Aalert(1)', 'xss-js-uri'],
  ['/redirect?next=java%09script:alert(1)', 'xss-js-uri'],
  ['/redirect?next=data:text/html;base64,PHNjcmlwdD4=', 'xss-js-uri'],
  ['/page/<script>alert(1)</script>', 'xss-script'],
];

const BENIGN: string[] = [
  '/',
  '/index.html',
  '/static/app.9f8e7d.js',
  '/docs/v1..v2/changes',
  '/files/archive..tar.gz',
  '/range?from=1..5',
  '/a/./b/c',
  '/search?q=union+station',
  '/search?q=select+a+plan',
  '/search?q=Union+Square+select+restaurants',
  "/people?name=O'Reilly",
  "/people?name=D'Angelo+or+Smith",
  '/search?q=rock+%26+roll',
  '/search?q=1%2B1%3D2',
  '/search?q=a<b and c>d',
  '/search?q=3 < 5 and onset=1',
  '/search?q=learn javascript: the good parts',
  '/search?q=javascript tutorial',
  '/search?q=how to drop a table from a list',
  '/search?q=update me; later please',
  '/search?q=sleep tracker app',
  '/search?q=email%40example.com',
  '/search?q=%E2%9C%93+unicode+%C3%A9t%C3%A9',
  '/search?q=50%25+off',
  '/search?q=C%23+and+F%23',
  '/search?q=scripting+languages',
  '/search?q=description+of+onload+event',
  '/api/v1/users/42?fields=name,email&sort=-created',
  '/api/items?filter=price>10&or=1',
  '/calendar/2024-01-01..2024-12-31',
  '/wiki/Dot_(..)_notation',
  '/path/with%20space/and%2Fslash',
  '/search?q=select',
  '/search?q=<3 love it',
  '/search?q=ends with a quote\'',
  '/search?q=she said "hi"',
  '/img/logo.svg?v=2',
  '/search?q=data: science',
  '/search?q=benchmark results 2024',
  '/a?x=1&y=2&z=3',
];

test('every attack in the table is caught by the expected rule', () => {
  assert.ok(ATTACKS.length + BENIGN.length >= 80);
  const wrong = ATTACKS.flatMap(([url, want]) => {
    const got = matchUrlRules(url);
    return got === want ? [] : [`${url}: want ${want}, got ${got ?? 'pass'}`];
  });
  assert.deepEqual(wrong, []);
});

test('benign lookalikes: zero false positives', () => {
  const flagged = BENIGN.flatMap((url) => {
    const got = matchUrlRules(url);
    return got === null ? [] : [`${url}: ${got}`];
  });
  assert.deepEqual(flagged, []);
});

test('every rule id is exercised by the table, and a disabled rule lets its attack pass', () => {
  const hit = new Set(ATTACKS.map(([, id]) => id));
  for (const r of URL_RULES) assert.ok(hit.has(r.id), `rule ${r.id} has an attack in the table`);
  assert.equal(matchUrlRules('/search?q=<script>x', new Set(['xss-script'])), null);
  assert.equal(matchUrlRules('/items?id=1 or 1=1', new Set(['sqli-tautology'])), null);
});

test('decodeOnce never throws on broken escapes and decodes overlong dots', () => {
  assert.equal(decodeOnce('%zz%2'), '%zz%2');
  assert.equal(decodeOnce('%c0%ae%C0%AE'), '..');
  assert.equal(decodeOnce('%u002e'), '.');
});
