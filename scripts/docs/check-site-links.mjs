#!/usr/bin/env node
// Checks every internal link of the built documentation site (docs/site, `pnpm run docs` first): each href/src in
// every HTML page, and each url(…) in its stylesheets, must name a file of the site, and a #fragment must name an
// id (or name) in the target page. External links (http:, https:, mailto:) are counted, not fetched: the check
// needs no network. Exits 1 with the broken links. Usage: node scripts/docs/check-site-links.mjs [site dir]
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(process.argv[2] ?? path.join(path.dirname(new URL(import.meta.url).pathname), '../../docs/site'));
if (!existsSync(path.join(root, 'index.html'))) {
  console.error(`check-site-links: no site at ${root} (run \`pnpm run docs\` first)`);
  process.exit(1);
}

const files = (dir) => readdirSync(dir).flatMap((f) => {
  const p = path.join(dir, f);
  return statSync(p).isDirectory() ? files(p) : [p];
});
const all = files(root);
const idsCache = new Map();
/** The ids and names a page defines (typedoc's member anchors, markdown headings' `md:` anchors). */
function idsOf(file) {
  if (!idsCache.has(file)) {
    const html = readFileSync(file, 'utf8');
    idsCache.set(file, new Set([...html.matchAll(/\s(?:id|name)="([^"]*)"/g)].map((m) => decodeEntities(m[1]))));
  }
  return idsCache.get(file);
}
const decodeEntities = (s) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

// TypeDoc 0.28 gives an interface that extends only a type alias a "view hierarchy" link to an entry that the
// hierarchy page never writes (PlateauSchedule extends the function type Schedule). Known and harmless: the
// page opens, at the top.
const TYPEDOC_DEAD_HIERARCHY = new Set(['hierarchy.html#@dl/optim.PlateauSchedule']);

const broken = [];
let internal = 0;
let external = 0;
function check(from, ref, what) {
  const url = decodeEntities(ref.trim());
  if (!url || /^(https?:|mailto:|data:|javascript:)/i.test(url)) {
    if (/^https?:/i.test(url)) external++;
    return;
  }
  internal++;
  if (TYPEDOC_DEAD_HIERARCHY.has(path.relative(root, path.resolve(path.dirname(from), url)))) return;
  const [beforeHash, fragment] = url.split('#');
  const target = beforeHash.split('?')[0];
  const file = target ? path.resolve(path.dirname(from), decodeURIComponent(target)) : from;
  const where = `${path.relative(root, from)}: ${what} ${ref}`;
  if (!file.startsWith(root)) return void broken.push(`${where} (points outside the site)`);
  if (!existsSync(file) || statSync(file).isDirectory()) return void broken.push(`${where} (no such file)`);
  if (fragment && file.endsWith('.html') && !idsOf(file).has(decodeURIComponent(fragment))) broken.push(`${where} (no anchor #${fragment})`);
}

for (const file of all) {
  if (file.endsWith('.html')) {
    const html = readFileSync(file, 'utf8');
    // Skip code blocks: a snippet may contain text that looks like an attribute.
    const markup = html.replace(/<pre[\s\S]*?<\/pre>/g, '');
    for (const m of markup.matchAll(/<(?:a|link|script|img|source|iframe)\b[^>]*?\s(href|src)="([^"]*)"/g)) check(file, m[2], m[1]);
  } else if (file.endsWith('.css')) {
    for (const m of readFileSync(file, 'utf8').matchAll(/url\(\s*['"]?([^'")]+)['"]?\s*\)/g)) check(file, m[1], 'url');
  }
}
const pages = all.filter((f) => f.endsWith('.html')).length;
if (broken.length) {
  console.log(`check-site-links: ${broken.length} broken links of ${internal} internal ones in ${pages} pages:`);
  for (const b of broken.slice(0, 200)) console.log(`  ${b}`);
  process.exit(1);
}
console.log(`check-site-links: all ${internal} internal links of ${pages} pages resolve (${external} external links not fetched)`);
