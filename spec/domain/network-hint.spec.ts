import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { NO_NETWORK_HINT, withNetworkHint } from '../../src/domain/network-hint.js';

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
    const hinted = withNetworkHint({ code: 'sb_500', message }, '');
    assert.is(hinted.message, `${message} (${NO_NETWORK_HINT})`, message);
    assert.is(hinted.code, 'sb_500', 'the code stays');
  }
});

test('or in the output only, when the message is the bare exit', () => {
  const failure = { code: 'sb_500' as const, message: 'the submission ended with exit status 1 and no result' };
  const output = 'Traceback (most recent call last):\n  ...\nsocket.gaierror: [Errno -3] Temporary failure in name resolution\n';
  assert.match(withNetworkHint(failure, output).message, NO_NETWORK_HINT);
});

test('any other failure is left as it is', () => {
  const failure = { code: 'op_5' as const, message: "ValueError: could not convert string to float: 'n/a'" };
  assert.is(withNetworkHint(failure, 'Traceback ...\nValueError\n'), failure);
});

test.run();
