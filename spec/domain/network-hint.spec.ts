import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { networkHint, withNetworkHint } from '../../src/domain/network-hint.js';

const NREL = [{ host: 'developer.nrel.gov', port: 443 }];
/** The az-tilt example's failure without a network: the name lookup is in the output, the message says something else. */
const NAME_LOOKUP =
  "urllib3.exceptions.NameResolutionError: <urllib3.connection.HTTPSConnection object>: Failed to resolve 'developer.nrel.gov' ([Errno -3] Temporary failure in name resolution)\n";
const PROXY_REFUSAL = 'urllib.error.URLError: <urlopen error Tunnel connection failed: 403 Forbidden>\n';

test('a failed name lookup without an allowlist: the task gives no network', () => {
  assert.is(networkHint([], NAME_LOOKUP), 'this task gives submissions no network access');
});

test('a refusal of the proxy with an allowlist: the hosts the task allows', () => {
  assert.is(networkHint(NREL, PROXY_REFUSAL), 'this task allows network access only to developer.nrel.gov:443, through the proxy in HTTPS_PROXY');
  for (const text of ['ConnectionRefusedError: [Errno 111] Connection refused', 'requests.exceptions.ProxyError: HTTPSConnectionPool', 'OSError: [Errno 113] No route to host', 'HTTP Error 403: Forbidden']) {
    assert.ok(networkHint(NREL, text), text);
  }
});

test('a failure that shows no connection gets no hint', () => {
  assert.is(networkHint([], 'ValueError: All objects passed were None'), undefined);
  assert.is(networkHint(NREL, 'exceeded the time limit of 20 s'), undefined);
});

test('the hint joins the message once, from the output when the message itself says nothing of the network', () => {
  const failure = { code: 'sb_500' as const, message: 'ValueError: All objects passed were None' };
  const hinted = withNetworkHint(failure, [], NAME_LOOKUP);
  assert.is(hinted.message, 'ValueError: All objects passed were None (this task gives submissions no network access)');
  assert.is(hinted.code, 'sb_500');
  assert.equal(withNetworkHint(hinted, [], NAME_LOOKUP), hinted);
  assert.equal(withNetworkHint(failure, [], 'Traceback: KeyError'), failure);
});

test.run();
