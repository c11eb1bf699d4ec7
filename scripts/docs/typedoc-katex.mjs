// A TypeDoc plugin that renders TeX math in TSDoc comments and in the guides with KaTeX, at build time (the
// site needs no script for it, only KaTeX's stylesheet and fonts, which are copied into assets/katex/).
//
// Delimiters: `$$ … $$` for a displayed formula (may span lines) and `$ … $` inline (pandoc's rule: no space
// after the opening `$` or before the closing one, and no digit right after the closing one; stricter than
// pandoc, no digit right after the opening one and no backtick inside, so "costs $5 and $6" and
// "`$x`" stay text). Code spans and fenced code blocks are left alone.
//
// Why placeholders: the formulas are cut out of the markdown before markdown-it sees it (otherwise `_` and `*`
// in TeX become emphasis and `\\` an escape) and their HTML is put back into markdown-it's output. A formula
// KaTeX cannot parse fails the build with the formula and the page it is on.
import { cpSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { JSX, MarkdownEvent, RendererEvent } from 'typedoc';

const require = createRequire(import.meta.url);
const katex = require('katex');
const katexDist = path.join(path.dirname(require.resolve('katex/package.json')), 'dist');

/** Code spans and fences (kept as they are), display math, inline math: one pass, left to right. */
const TOKENS = /(```[\s\S]*?```|~~~[\s\S]*?~~~|`[^`\n]*`)|\$\$([\s\S]+?)\$\$|(?<![\\$\w])\$(?![\s$\d])((?:\\\$|[^$\n`])+?)(?<![\s\\])\$(?![\d$])/g;

/** `markdown` with each formula replaced by a placeholder, and the rendered formulas. */
export function cutMath(markdown, where = '') {
  const rendered = [];
  const text = markdown.replace(TOKENS, (all, code, display, inline) => {
    if (code) return all;
    const tex = display ?? inline;
    let html;
    try {
      html = katex.renderToString(tex.trim(), { displayMode: display !== undefined, throwOnError: true, strict: 'error', trust: false });
    } catch (e) {
      throw new Error(`KaTeX cannot render ${JSON.stringify(tex.trim())}${where ? ` in ${where}` : ''}: ${e.message}`);
    }
    rendered.push(html);
    // Letters only, so markdown-it passes it through untouched; a displayed formula becomes its own paragraph.
    const mark = `KATEXMATH${rendered.length - 1}X`;
    return display !== undefined ? `\n\n${mark}\n\n` : mark;
  });
  return { text, rendered };
}

/** Puts the rendered formulas back in place of their placeholders (a lone display placeholder loses its <p>). */
export function pasteMath(html, rendered) {
  return html
    .replace(/<p>KATEXMATH(\d+)X<\/p>/g, (_, i) => rendered[Number(i)])
    .replace(/KATEXMATH(\d+)X/g, (_, i) => rendered[Number(i)]);
}

/** @param {import('typedoc').Application} app */
export function load(app) {
  const pending = new WeakMap();
  app.renderer.on(MarkdownEvent.PARSE, (event) => {
    const { text, rendered } = cutMath(event.parsedText, event.page?.url);
    if (rendered.length) {
      event.parsedText = text;
      pending.set(event, rendered);
    }
  }, 100);
  app.renderer.on(MarkdownEvent.PARSE, (event) => {
    const rendered = pending.get(event);
    if (rendered) event.parsedText = pasteMath(event.parsedText, rendered);
  }, -100);
  app.renderer.hooks.on('head.end', (context) => JSX.createElement('link', { rel: 'stylesheet', href: context.relativeURL('assets/katex/katex.min.css') }));
  app.renderer.on(RendererEvent.END, (event) => {
    const out = path.join(event.outputDirectory, 'assets', 'katex');
    mkdirSync(out, { recursive: true });
    cpSync(path.join(katexDist, 'katex.min.css'), path.join(out, 'katex.min.css'));
    cpSync(path.join(katexDist, 'fonts'), path.join(out, 'fonts'), { recursive: true });
  });
}
