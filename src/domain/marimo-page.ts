import { escapeHtml } from './html.js';

/**
 * Every src and href of a page marimo's `export html` writes points into its frontend build on jsDelivr, named by
 * marimo's version: the build's own `./` URLs with this base put in front.
 */
const FRONTEND_URL =
  /https:\/\/cdn\.jsdelivr\.net\/npm\/@marimo-team\/frontend@([0-9A-Za-z.+-]+)\/dist\/([^"'\s?#)]*)/g;
const frontendBase = (version: string) => `https://cdn.jsdelivr.net/npm/@marimo-team/frontend@${version}/dist/`;

/** What an exported marimo page loads from the CDN. */
export interface MarimoPage {
  /** The frontend versions the page names: one for any page marimo wrote. */
  readonly frontendVersions: readonly string[];
  /** The build's top-level entries the page names: `assets` (its scripts, styles, fonts), `favicon.ico`, … */
  readonly entries: readonly string[];
}

/** The page's CDN references, or undefined when it has none (the built-in report, written in the template's place). */
export function marimoPage(html: string): MarimoPage | undefined {
  const versions = new Set<string>();
  const entries = new Set<string>();
  for (const [, version = '', path = ''] of html.matchAll(FRONTEND_URL)) {
    versions.add(version);
    const entry = path.split('/')[0] ?? '';
    if (entry !== '') entries.add(entry);
  }
  return versions.size === 0 ? undefined : { frontendVersions: [...versions], entries: [...entries] };
}

/** The frontend version marimo names for its own version (its get_default_asset_url writes `.dev` as `-dev`). */
export function frontendVersionOf(marimoVersion: string): string {
  return marimoVersion.replace('.dev', '-dev');
}

function afterBodyTag(html: string, markup: string): string {
  const body = /<body\b[^>]*>/i.exec(html);
  if (body === null) return `${markup}\n${html}`;
  const end = body.index + body[0].length;
  return `${html.slice(0, end)}\n${markup}${html.slice(end)}`;
}

const NOTE_STYLE = 'margin:0;padding:8px 16px;background:#fff4ce;color:#3d3000;font:14px/1.4 sans-serif';

/**
 * The page with its frontend loaded from `assetsFolder` beside it instead of the CDN. Browsers run a page's module
 * scripts only when it comes from a web server, not from a file, so a line (shown only to a page opened as a file)
 * says how to serve it; the page stays blank there otherwise.
 */
export function withLocalFrontend(html: string, version: string, assetsFolder: string, pageName: string): string {
  const note =
    `<p id="pvhub-serve-note" hidden style="${NOTE_STYLE}">This report runs marimo's scripts from ${escapeHtml(assetsFolder)}/, ` +
    `which browsers refuse to run from a file: in this folder run <code>python3 -m http.server</code>, ` +
    `then open http://localhost:8000/${escapeHtml(pageName)}. It needs no network.</p>\n` +
    `<script>if (location.protocol === 'file:') document.getElementById('pvhub-serve-note').hidden = false;</script>`;
  return afterBodyTag(html.replaceAll(frontendBase(version), `${assetsFolder}/`), note);
}

/** The page as marimo wrote it, with one visible line saying why it needs network to show. */
export function withNetworkNote(html: string, reason: string): string {
  return afterBodyTag(
    html,
    `<p id="pvhub-network-note" style="${NOTE_STYLE}">This report loads marimo's page from cdn.jsdelivr.net and needs network: ${escapeHtml(reason)}.</p>`,
  );
}
