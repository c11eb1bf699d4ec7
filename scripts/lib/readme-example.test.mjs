// node --test: extracting a README's marked first example and turning it into CommonJS.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { firstExample, MARKER, toCommonJS } from './readme-example.mjs';

const example = [
  "import '@tensorflow/tfjs-backend-cpu'; // registers the backend",
  "import * as tf from '@tensorflow/tfjs-core';",
  "import { useBackend, Linear as L, type Module } from '@dl/core';",
  '',
  "await useBackend('cpu');",
  'console.log(new L(2, 1).numParameters(), tf.getBackend());',
].join('\n');

test('firstExample takes the ts block after the marker, not an earlier one', () => {
  const readme = `# x\n\n\`\`\`ts\nnot this\n\`\`\`\n\n${MARKER}\n\`\`\`ts\n${example}\n\`\`\`\n\n\`\`\`ts\nnor this\n\`\`\`\n`;
  assert.equal(firstExample(readme), example + '\n');
});

test('firstExample names the README when the marker or the block is missing', () => {
  assert.throws(() => firstExample('# x\n```ts\na\n```\n', 'packages/x/README.md'), /packages\/x\/README\.md: no <!-- first-example --> marker/);
  assert.throws(() => firstExample(`${MARKER}\n\n\`\`\`sh\nnpm i\n\`\`\`\n`, 'R.md'), /R\.md: .* must be followed by a ```ts code block/);
});

test('toCommonJS turns imports into requires, drops type-only names and keeps the statements', () => {
  const cjs = toCommonJS(example);
  assert.match(cjs, /^'use strict';\nrequire\('@tensorflow\/tfjs-backend-cpu'\);\nconst tf = require\('@tensorflow\/tfjs-core'\);\nconst \{ useBackend, Linear: L \} = require\('@dl\/core'\);\n/);
  assert.match(cjs, /\(async \(\) => \{\nawait useBackend\('cpu'\);\nconsole\.log\(new L\(2, 1\)\.numParameters\(\), tf\.getBackend\(\)\);\n\}\)\(\)/);
  assert.doesNotMatch(cjs, /^import/m);
  assert.throws(() => toCommonJS("import tf from 'x';"), /cannot convert import clause "tf"/);
});
