import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NO_NETWORK_HINT, networkHint, withNetworkHint } from '../../src/domain/network-hint.js';

const NREL = [{ host: 'developer.nrel.gov', port: 443 }];
/** The az-tilt example's failure without a network: the name lookup is in the output, the message says something else. */
const NAME_LOOKUP =
  "urllib3.exceptions.NameResolutionError: <urllib3.connection.HTTPSConnection object>: Failed to resolve 'developer.nrel.gov' ([Errno -3] Temporary failure in name resolution)\n";
const PROXY_REFUSAL = 'urllib.error.URLError: <urlopen error Tunnel connection failed: 403 Forbidden>\n';

test('a failed name lookup without an allowlist: the task gives no network', () => {
  assert.is(networkHint([], NAME_LOOKUP), NO_NETWORK_HINT);
});

test('a refusal of the proxy with an allowlist: the hosts the task allows', () => {
  assert.is(
    networkHint(NREL, PROXY_REFUSAL),
    'this task allows network access only to developer.nrel.gov:443, through the proxy in HTTPS_PROXY',
  );
  for (const text of [
    'ConnectionRefusedError: [Errno 111] Connection refused',
    'requests.exceptions.ProxyError: HTTPSConnectionPool',
    'OSError: [Errno 113] No route to host',
    'HTTP Error 403: Forbidden',
  ]) {
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
  assert.is(hinted.message, `ValueError: All objects passed were None (${NO_NETWORK_HINT})`);
  assert.is(hinted.code, 'sb_500');
  assert.equal(withNetworkHint(hinted, [], NAME_LOOKUP), hinted);
  assert.equal(withNetworkHint(failure, [], 'Traceback: KeyError'), failure);
});

/** Messages as Python prints them in a container with no network (the first two seen with --network none). */
const NETWORK_FAILURES = [
  'URLError: <urlopen error [Errno -3] Temporary failure in name resolution>',
  'OSError: [Errno 101] Network is unreachable',
  "ConnectionError: HTTPSConnectionPool(host='developer.nrel.gov', port=443): Max retries exceeded with url: /api/nsrdb (Caused by NameResolutionError(\"<urllib3.connection.HTTPSConnection object at 0x7f2>: Failed to resolve 'developer.nrel.gov' ([Errno -2] Name or service not known)\"))",
  'ConnectionRefusedError: [Errno 111] Connection refused',
  'httpx.ConnectError: [Errno -5] No address associated with hostname',
];

test('a failed name lookup or connection in the message says that submission containers have no network', () => {
  for (const message of NETWORK_FAILURES) {
    const hinted = withNetworkHint({ code: 'sb_500', message }, [], '');
    assert.is(hinted.message, `${message} (${NO_NETWORK_HINT})`, message);
    assert.is(hinted.code, 'sb_500', 'the code stays');
  }
});

test('or in the output only, when the message is the bare exit', () => {
  const failure = { code: 'sb_500' as const, message: 'the submission ended with exit status 1 and no result' };
  const output =
    'Traceback (most recent call last):\n  ...\nsocket.gaierror: [Errno -3] Temporary failure in name resolution\n';
  assert.match(withNetworkHint(failure, [], output).message, NO_NETWORK_HINT);
});

test('any other failure is left as it is', () => {
  const failure = { code: 'op_5' as const, message: "ValueError: could not convert string to float: 'n/a'" };
  assert.is(withNetworkHint(failure, [], 'Traceback ...\nValueError\n'), failure);
});

test.run();
