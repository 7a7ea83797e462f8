import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DENIED_RANGES } from '../../src/domain/egress-policy.js';
import { parseProxyAccess, squidConfig } from '../../src/domain/squid-config.js';

const policy = {
  allow: [
    { host: 'developer.nrel.gov', port: 443 },
    { host: 'api.example.org', port: 8080 },
  ],
  clientSubnet: '172.20.0.0/16',
  deny: [...DENIED_RANGES, '192.0.2.2/32'],
};

const accessRules = (config: string) => config.split('\n').filter((line) => line.startsWith('http_access'));

test('the admin interface and strangers are refused first, then each listed pair unless its address is denied, then all', () => {
  const config = squidConfig(policy);
  assert.equal(accessRules(config), [
    'http_access deny manager',
    'http_access deny !job_network',
    'http_access allow listed_0_host listed_0_port !denied_destination',
    'http_access allow listed_1_host listed_1_port !denied_destination',
    'http_access deny all',
  ]);
  assert.ok(config.includes('acl job_network src 172.20.0.0/16\n'));
  assert.ok(config.includes('acl listed_0_host dstdomain -n developer.nrel.gov\nacl listed_0_port port 443\n'));
  const denied = /^acl denied_destination dst (.*)$/m.exec(config)?.[1]?.split(' ');
  for (const range of [
    '10.0.0.0/8',
    '127.0.0.0/8',
    '169.254.0.0/16',
    '172.16.0.0/12',
    '192.168.0.0/16',
    '::ffff:0:0/96',
    '192.0.2.2/32',
  ]) {
    assert.ok(denied?.includes(range), range);
  }
});

test('no cache, no client details forwarded, one access line per request on stdout', () => {
  const config = squidConfig(policy);
  for (const line of [
    'cache deny all',
    'via off',
    'forwarded_for delete',
    'access_log stdio:/dev/stdout pvhub',
    'pinger_enable off',
  ]) {
    assert.ok(config.split('\n').includes(line), line);
  }
});

test('a value that could start a directive of its own is refused, not written', () => {
  assert.throws(
    () => squidConfig({ ...policy, clientSubnet: '172.20.0.0/16\nhttp_access allow all' }),
    /not a plain squid.conf token/,
  );
  assert.throws(
    () => squidConfig({ ...policy, allow: [{ host: 'x.org all', port: 80 }] }),
    /not a plain squid.conf token/,
  );
});

test('access lines: a tunnel opened is allowed, a refusal is not, other lines are not access lines', () => {
  assert.equal(parseProxyAccess('1764812493.120 172.20.0.3 TCP_TUNNEL/200 CONNECT api.listed.test:8080 203.0.113.2'), {
    client: '172.20.0.3',
    result: 'TCP_TUNNEL/200',
    method: 'CONNECT',
    target: 'api.listed.test:8080',
    server: '203.0.113.2',
    allowed: true,
  });
  assert.is(parseProxyAccess('1764812493.121 172.20.0.3 TCP_DENIED/403 CONNECT 169.254.169.254:80 -')?.allowed, false);
  assert.is(parseProxyAccess('2026/12/04 01:41:21| Accepting HTTP Socket connections at conn2'), undefined);
});

test.run();
