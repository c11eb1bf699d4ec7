// Builds src/generated/tfjs-gradients.js: tfjs-core's own gradient configs, made importable anywhere.
//
// Why: tfjs-core's Node entry registers no gradients, and its ESM files import without extensions, so
// `@tensorflow/tfjs-core/dist/register_all_gradients` cannot be loaded by plain Node. We bundle those files
// with esbuild and send every import of a tfjs-core internal to the *public* `@tensorflow/tfjs-core`
// entry whenever the public API has the same function; only a few internal ops without a public export
// (e.g. conv2DBackpropFilter) are bundled, and they too reach the engine through the public API. So the
// result shares the user's engine, kernel registry and Tensor class: there is exactly one tfjs-core.
import * as esbuild from 'esbuild';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const tf = require('@tensorflow/tfjs-core');
const coreDist = path.join(path.dirname(require.resolve('@tensorflow/tfjs-core/package.json')), 'dist');
const outDir = path.join(here, '..', 'src', 'generated');

// Public namespaces that hold tfjs-core's internal helpers, searched after the top level.
const NAMESPACES = ['backend_util', 'util', 'broadcast_util', 'slice_util'];
// Internals whose public counterpart has another shape: written out by hand.
const SPECIAL = {
  ENGINE: 'tf.engine()',
  convertToTensor:
    '((x, name, fn, dtype) => { if (x instanceof tf.Tensor) return x; ' +
    "if (x == null) throw new Error(`Argument '${name}' passed to '${fn}' must be a Tensor`); " +
    'return tf.tensor(x, undefined, dtype); })',
};

function publicRef(name) {
  if (name in SPECIAL) return SPECIAL[name];
  if (name in tf) return `tf.${name}`;
  for (const ns of NAMESPACES) if (tf[ns] && name in tf[ns]) return `tf.${ns}.${name}`;
  return null;
}

/** Names that `src` takes from module specifier `spec` (named imports, or `ns.x` uses of a namespace import). */
function importedNames(src, spec) {
  const esc = spec.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const names = new Set();
  for (const m of src.matchAll(new RegExp(`import\\s*\\{([^}]*)\\}\\s*from\\s*'${esc}'`, 'g'))) {
    for (const part of m[1].split(',')) {
      const n = part.trim().split(/\s+as\s+/)[0];
      if (n) names.add(n);
    }
  }
  for (const m of src.matchAll(new RegExp(`import\\s*\\*\\s*as\\s+(\\w+)\\s+from\\s*'${esc}'`, 'g'))) {
    for (const u of src.matchAll(new RegExp(`\\b${m[1]}\\.(\\w+)`, 'g'))) names.add(u[1]);
  }
  return [...names];
}

const bundled = new Set();
const chained = [];
const publicTfjs = {
  name: 'public-tfjs-core',
  setup(build) {
    build.onResolve({ filter: /^\./ }, (args) => {
      if (!args.importer.startsWith(coreDist)) return undefined;
      const file = path.resolve(args.resolveDir, args.path) + '.js';
      const rel = path.relative(coreDist, file);
      if (rel.startsWith('gradients/') || rel === 'register_all_gradients.js') return { path: file };
      const refs = importedNames(readFileSync(args.importer, 'utf8'), args.path).map((n) => [n, publicRef(n)]);
      if (refs.every(([, r]) => r)) {
        const code = ['import * as tf from "@tensorflow/tfjs-core";', ...refs.map(([n, r]) => `export const ${n} = ${r};`)];
        const key = `${rel}?from=${path.relative(coreDist, args.importer)}`;
        return { path: key, namespace: 'public', pluginData: code.join('\n') };
      }
      bundled.add(rel);
      return { path: file };
    });
    build.onLoad({ filter: /.*/, namespace: 'public' }, (args) => ({ contents: args.pluginData, resolveDir: coreDist }));
    // A few gradients call chained tensor methods (`x.reshape(shape)`), which exist only when tfjs's
    // chained ops are registered: rewrite them to the functional op.
    build.onLoad({ filter: /[\\/]dist[\\/](gradients|ops)[\\/][^\\/]+\.js$/ }, (args) => {
      const src = readFileSync(args.path, 'utf8');
      let rewritten = 0;
      const out = src
        .replace(/\b([A-Za-z_$][\w$]*)\.reshape\(/g, (m, name) => {
          if (NAMESPACES.includes(name) || name === 'tf') return m;
          rewritten++;
          return `__dlReshape(${name}, `;
        })
        // `.slice(` and `.split(` are also array and string methods: only these names hold tensors
        // (GatherV2's batchDims path).
        .replace(/\b(dy|indices)\.slice\(/g, (m, name) => {
          rewritten++;
          return `__dlSlice(${name}, `;
        })
        .replace(/\b(x)\.split\(/g, (m, name) => {
          rewritten++;
          return `__dlSplit(${name}, `;
        });
      if (!rewritten) return undefined;
      chained.push(`${path.relative(coreDist, args.path)} (${rewritten})`);
      return { contents: `import { reshape as __dlReshape, slice as __dlSlice, split as __dlSplit } from '@tensorflow/tfjs-core';\n${out}`, resolveDir: path.dirname(args.path) };
    });
    // Export the config list instead of registering: @dl/core decides what to register.
    build.onLoad({ filter: /register_all_gradients\.js$/ }, (args) => {
      const src = readFileSync(args.path, 'utf8');
      const cut = src.indexOf('for (const gradientConfig of gradConfigs)');
      if (cut < 0) throw new Error('register_all_gradients.js changed shape; update bundle-gradients.mjs');
      return { contents: src.slice(0, cut).replace(/import \{ registerGradient \}[^\n]*\n/, '') + '\nexport { gradConfigs };\n' };
    });
  },
};

mkdirSync(outDir, { recursive: true });
await esbuild.build({
  entryPoints: [path.join(coreDist, 'register_all_gradients.js')],
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  target: 'es2020',
  external: ['@tensorflow/tfjs-core'],
  outfile: path.join(outDir, 'tfjs-gradients.js'),
  plugins: [publicTfjs],
  legalComments: 'eof',
  banner: { js: `// Generated by scripts/bundle-gradients.mjs from @tensorflow/tfjs-core ${tf.version_core} (Apache-2.0). Do not edit.` },
  logLevel: 'warning',
});
// Nothing that holds global state may be bundled: that would be a second tfjs-core.
const forbidden = [...bundled].filter((f) => /^(engine|tensor|environment|kernel_registry|global_util)\.js$/.test(f));
if (forbidden.length) throw new Error(`bundle-gradients: would duplicate tfjs-core state: ${forbidden.join(', ')}`);
// Any other chained tensor method left in the bundle would fail at run time with tfjs-core alone. The
// names come from tfjs-core's own chained-op registrations; those arrays and strings also have (slice,
// concat, reverse, split) are checked on the receivers known to be tensors.
const chainedDir = path.join(coreDist, 'public', 'chained_ops');
const OPS = [...new Set(readdirSync(chainedDir).filter((f) => f.endsWith('.js')).flatMap((f) => [...readFileSync(path.join(chainedDir, f), 'utf8').matchAll(/prototype\.(\w+) = /g)].map((m) => m[1])))]
  .filter((n) => !['slice', 'concat', 'reverse', 'split', 'cast', 'clone'].includes(n));
const bundleText = readFileSync(path.join(outDir, 'tfjs-gradients.js'), 'utf8').replace(/\/\/[^\n]*|\/\*[\s\S]*?\*\//g, '');
const leftover = [...bundleText.matchAll(new RegExp(`(?<![.\\w$])([A-Za-z_$][\\w$]*)\\.(${OPS.join('|')})\\(|\\b(dy|indices|x)\\.(slice|split|concat|reverse)\\(`, 'g'))]
  .filter((m) => !(m[1] ?? '').startsWith('tf') && !NAMESPACES.includes(m[1]) && !['Math', 'Object', 'Array', 'console', 'axis_util', 'conv_util'].includes(m[1]));
if (leftover.length) throw new Error(`bundle-gradients: chained tensor methods remain: ${leftover.map((m) => m[0]).join(', ')}`);
writeFileSync(
  path.join(outDir, 'tfjs-gradients.d.ts'),
  "import type { GradConfig } from '@tensorflow/tfjs-core';\nexport declare const gradConfigs: GradConfig[];\n",
);
console.log(`bundle-gradients: tfjs-core ${tf.version_core}, bundled internals: ${[...bundled].sort().join(', ') || 'none'}; chained calls rewritten: ${chained.join(', ') || 'none'}`);
