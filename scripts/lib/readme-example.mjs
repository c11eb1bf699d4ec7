// A package README's first example: the ```ts block right after the `<!-- first-example -->` marker.
// scripts/fresh-project.mjs runs it unchanged, so README and check cannot drift apart. The example is
// written in the subset of TypeScript that is also JavaScript (no annotations), so one text is an .mjs
// file, a strict .ts file and a bundler entry.

export const MARKER = '<!-- first-example -->';

/** The first example of a README's text; throws naming the README when the marker or its block is missing. */
export function firstExample(readme, name = 'README.md') {
  const at = readme.indexOf(MARKER);
  if (at < 0) throw new Error(`${name}: no ${MARKER} marker before the first example`);
  const m = /^\s*```ts\n([\s\S]*?)\n```/.exec(readme.slice(at + MARKER.length));
  if (!m) throw new Error(`${name}: ${MARKER} must be followed by a \`\`\`ts code block`);
  return m[1] + '\n';
}

/**
 * The same example as a CommonJS script: each `import` becomes a `require` and the rest runs inside an
 * async function (CommonJS has no top-level await). The statements themselves are unchanged.
 */
export function toCommonJS(example) {
  const requires = [];
  const body = example.replace(/^import\s+([^;]*?)\s*from\s*'([^']+)';[^\n]*$|^import\s*'([^']+)';[^\n]*$/gm, (_, clause, spec, bare) => {
    if (bare) {
      requires.push(`require('${bare}');`);
      return '';
    }
    const ns = /^\*\s+as\s+(\w+)$/.exec(clause);
    if (ns) {
      requires.push(`const ${ns[1]} = require('${spec}');`);
      return '';
    }
    const named = /^\{([^}]*)\}$/.exec(clause);
    if (!named) throw new Error(`toCommonJS: cannot convert import clause "${clause}"`);
    const names = named[1]
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s && !s.startsWith('type '))
      .map((s) => s.replace(/\s+as\s+/, ': '));
    requires.push(`const { ${names.join(', ')} } = require('${spec}');`);
    return '';
  });
  if (/^import\b/m.test(body)) throw new Error('toCommonJS: an import statement was left unconverted');
  return `'use strict';\n${requires.join('\n')}\n(async () => {\n${body.trim()}\n})().catch((e) => {\n  console.error(e);\n  process.exit(1);\n});\n`;
}
