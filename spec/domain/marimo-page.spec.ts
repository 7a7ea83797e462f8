import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { frontendVersionOf, marimoPage, withLocalFrontend, withNetworkNote } from '../../src/domain/marimo-page.js';

const CDN = 'https://cdn.jsdelivr.net/npm/@marimo-team/frontend@0.25.2/dist';

/** The shape of marimo's export: its build's URLs in the head, the app's root in the body. */
const PAGE = `<!DOCTYPE html>
<html lang="en">
  <head>
    <link rel="icon" crossorigin="anonymous" href="${CDN}/favicon.ico" />
    <link rel="preload" href="${CDN}/assets/PTSans-Regular-Bam3NpBI.woff2" as="font" crossorigin="anonymous" />
    <script type="module" crossorigin src="${CDN}/assets/index-s-M1OXjs.js"></script>
    <link rel="modulepreload" crossorigin href="${CDN}/assets/react-DVplv7_D.js">
  </head>
  <body>
    <div id="root"></div>
  </body>
</html>`;

test('a marimo page names its frontend version and the entries of the build it loads', () => {
  assert.equal(marimoPage(PAGE), { frontendVersions: ['0.25.2'], entries: ['favicon.ico', 'assets'] });
});

test('a page with no marimo frontend (the built-in report) is not a marimo page', () => {
  assert.is(marimoPage('<html><body><h1>Results</h1><svg></svg></body></html>'), undefined);
});

test("marimo's development versions are named as its CDN names them", () => {
  assert.is(frontendVersionOf('0.25.2'), '0.25.2');
  assert.is(frontendVersionOf('0.26.0.dev3'), '0.26.0-dev3');
});

test('the local page loads every URL of the build from the folder beside it, and nothing from the CDN', () => {
  const local = withLocalFrontend(PAGE, '0.25.2', 'private_results_assets', 'private_results.html');
  assert.not.match(local, 'cdn.jsdelivr.net');
  assert.match(local, 'src="private_results_assets/assets/index-s-M1OXjs.js"');
  assert.match(local, 'href="private_results_assets/favicon.ico"');
  assert.match(local, 'href="private_results_assets/assets/react-DVplv7_D.js"');
  assert.ok(local.includes('<div id="root"></div>'), 'the app mounts where it did');
});

test('a page opened as a file says how to serve it (browsers run no module script from a file), hidden otherwise', () => {
  const local = withLocalFrontend(PAGE, '0.25.2', 'private_results_assets', 'private_results.html');
  const body = local.slice(local.indexOf('<body>'));
  assert.match(
    body,
    /<p id="pvhub-serve-note" hidden[^>]*>[^<]*private_results_assets\/.*python3 -m http\.server.*http:\/\/localhost:8000\/private_results\.html/,
  );
  assert.match(body, "if (location.protocol === 'file:') document.getElementById('pvhub-serve-note').hidden = false;");
  assert.ok(
    body.indexOf('pvhub-serve-note') < body.indexOf('<div id="root">'),
    'above the app, which stays blank there',
  );
});

test('a page that keeps the CDN says in one visible line why it needs network', () => {
  const page = withNetworkNote(PAGE, "it was made with marimo 0.25.2, and this machine's marimo is <0.26.0>");
  assert.match(page, `src="${CDN}/assets/index-s-M1OXjs.js"`);
  const note = /<p id="pvhub-network-note"[^>]*>([^\n]*)<\/p>/.exec(page);
  assert.ok(note, 'a visible line in the body');
  assert.is(
    note[1],
    "This report loads marimo's page from cdn.jsdelivr.net and needs network: it was made with marimo 0.25.2, and this machine&#39;s marimo is &lt;0.26.0&gt;.",
  );
  assert.ok(page.indexOf('pvhub-network-note') > page.indexOf('<body>'));
});

test.run();
