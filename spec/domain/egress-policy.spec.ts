import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WorkerError } from '../../src/domain/errors.js';
import {
  type EgressSettings,
  egressAllowlist,
  parseCidr,
  parseHostPattern,
  parseHostPort,
} from '../../src/domain/egress-policy.js';

const open: EgressSettings = { enabled: true, cap: undefined, outwardNetwork: 'bridge', deny: [] };
const nrel = { host: 'developer.nrel.gov', port: 443 };

function refusal(run: () => unknown): WorkerError {
  try {
    run();
  } catch (error) {
    assert.instance(error, WorkerError);
    return error as WorkerError;
  }
  throw new Error('expected a refusal');
}

test('allowlist entries are host:port with a DNS name or an IPv4 address, lower-cased', () => {
  assert.equal(parseHostPort('Developer.NREL.gov:443'), nrel);
  assert.equal(parseHostPort('169.254.169.254:80'), { host: '169.254.169.254', port: 80 });
  for (const bad of [
    'developer.nrel.gov',
    ':443',
    'developer.nrel.gov:0',
    'developer.nrel.gov:65536',
    'a b:80',
    '-x.org:80',
    '1.2.3:80',
    '[::1]:80',
    'x.org:80\nhttp_access allow all',
    '*.nrel.gov:443',
  ]) {
    assert.type(parseHostPort(bad), 'string', bad);
  }
});

test('the cap takes exact pairs and *.domain patterns; ranges are IPv4 CIDR or a bare address', () => {
  assert.equal(parseHostPattern('*.nrel.gov:443'), { host: 'nrel.gov', subdomains: true, port: 443 });
  assert.equal(parseHostPattern('10.1.2.3:8080'), { host: '10.1.2.3', subdomains: false, port: 8080 });
  assert.type(parseHostPattern('*.10.1.2.3:80'), 'string');
  assert.is(parseCidr('203.0.113.7'), '203.0.113.7/32');
  assert.is(parseCidr(' 198.51.100.0/24 '), '198.51.100.0/24');
  for (const bad of ['198.51.100.0/33', '198.51.100/24', 'fe80::/10', '1.2.3.4/8/1', 'x'])
    assert.is(parseCidr(bad), undefined, bad);
});

test('no allowlist means no network, whatever the worker allows', () => {
  assert.equal(egressAllowlist([], open), []);
  assert.equal(egressAllowlist([], { ...open, enabled: false }), []);
});

test('a task that lists pairs is refused by a worker that allows no network, naming them (wr_500: not the submission)', () => {
  const error = refusal(() => egressAllowlist([nrel], { ...open, enabled: false }));
  assert.is(error.code, 'wr_500');
  assert.match(error.message, 'developer.nrel.gov:443');
  assert.match(error.message, 'PVHUB_EGRESS');
});

test('the cap decides which pairs a task may list: exact, or any name under a domain, on the same port', () => {
  const cap = ['*.nrel.gov:443', 'api.example.org:8080'].map(
    (text) => parseHostPattern(text) as Exclude<ReturnType<typeof parseHostPattern>, string>,
  );
  const capped = { ...open, cap };
  assert.equal(egressAllowlist([nrel, { host: 'api.example.org', port: 8080 }], capped), [
    nrel,
    { host: 'api.example.org', port: 8080 },
  ]);
  const beyond = refusal(() =>
    egressAllowlist([nrel, { host: 'nrel.gov.evil.org', port: 443 }, { host: 'developer.nrel.gov', port: 80 }], capped),
  );
  assert.is(beyond.code, 'wr_500');
  assert.match(beyond.message, 'nrel.gov.evil.org:443, developer.nrel.gov:80');
  assert.not.match(beyond.message, 'developer.nrel.gov:443');
  // `*.nrel.gov` is the names under it, not the domain itself.
  refusal(() => egressAllowlist([{ host: 'nrel.gov', port: 443 }], capped));
});

test.run();
