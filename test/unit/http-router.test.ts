// Route matching of the HTTP engine: host tiers, wildcards, longest prefix, normalization.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeHost, originForm, requestPath, Router } from '../../lb/http/router.js';
import type { RouteSpec } from '../../lb/types.js';

const routes: RouteSpec[] = [
  { pathPrefix: '/', pool: 'default' },
  { pathPrefix: '/api/', pool: 'api' },
  { pathPrefix: '/api/v2/', pool: 'api2' },
  { host: 'example.com', pathPrefix: '/', pool: 'example' },
  { host: 'example.com', pathPrefix: '/static/', pool: 'example-static' },
  { host: '*.example.com', pathPrefix: '/', pool: 'wild' },
  { host: '*.eu.example.com', pathPrefix: '/shop/', pool: 'wild-eu-shop' },
  { host: 'only-api.test', pathPrefix: '/api/', pool: 'only-api' },
];
const router = new Router(routes);
const pool = (host: string, path: string): string | undefined => router.match(host, path)?.pool;

describe('http router', () => {
  it('picks the longest path prefix among host-less routes', () => {
    assert.equal(pool('any.test', '/'), 'default');
    assert.equal(pool('any.test', '/api/users'), 'api');
    assert.equal(pool('any.test', '/api/v2/users'), 'api2');
    assert.equal(pool('any.test', '/apix'), 'default');
  });

  it('lets an exact host win over host-less routes, longest prefix within it', () => {
    assert.equal(pool('example.com', '/api/users'), 'example');
    assert.equal(pool('example.com', '/static/a.css'), 'example-static');
  });

  it('matches wildcards on any depth of subdomain but not the bare domain, most specific first', () => {
    assert.equal(pool('a.example.com', '/x'), 'wild');
    assert.equal(pool('a.b.example.com', '/x'), 'wild');
    assert.equal(pool('fr.eu.example.com', '/shop/cart'), 'wild-eu-shop');
    // The more specific wildcard has no matching prefix: the next tier decides.
    assert.equal(pool('fr.eu.example.com', '/blog'), 'wild');
    assert.equal(pool('notexample.com', '/'), 'default');
  });

  it('falls through to host-less routes when the host tier has no matching prefix', () => {
    assert.equal(pool('only-api.test', '/api/x'), 'only-api');
    assert.equal(pool('only-api.test', '/web'), 'default');
  });

  it('returns undefined when nothing matches', () => {
    const strict = new Router([{ host: 'a.test', pathPrefix: '/', pool: 'a' }]);
    assert.equal(strict.match('b.test', '/'), undefined);
    assert.equal(strict.match('a.test', 'no-slash'), undefined);
    assert.equal(new Router([]).match('a.test', '/'), undefined);
  });

  it('normalizes hosts: case, port, IPv6 literal, trailing dot', () => {
    assert.equal(normalizeHost('Example.COM:8080'), 'example.com');
    assert.equal(normalizeHost('example.com.'), 'example.com');
    assert.equal(normalizeHost('[::1]:8080'), '[::1]');
    assert.equal(normalizeHost(undefined), '');
    assert.equal(pool(normalizeHost('EXAMPLE.com:80'), '/static/x'), 'example-static');
    const upper = new Router([{ host: '*.Example.COM', pathPrefix: '/', pool: 'w' }]);
    assert.equal(upper.match(normalizeHost('A.Example.com:1'), '/')?.pool, 'w');
  });

  it('matches on the path only: no query, absolute-form targets reduced to their path', () => {
    assert.equal(requestPath('/api/x?y=1'), '/api/x');
    assert.equal(requestPath('/a#frag'), '/a');
    assert.equal(requestPath('http://example.com/api/v2/x?q'), '/api/v2/x');
    assert.equal(requestPath('http://example.com'), '/');
    assert.equal(requestPath('*'), '*');
  });

  it('turns absolute-form targets into origin-form for the backend', () => {
    assert.equal(originForm('/a/b?c=1'), '/a/b?c=1');
    assert.equal(originForm('http://example.com/a/b?c=1'), '/a/b?c=1');
    assert.equal(originForm('http://example.com?c=1'), '/?c=1');
    assert.equal(originForm('http://example.com'), '/');
    assert.equal(originForm('*'), '*');
  });
});
