import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/testing.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  // Backends and Node built-ins are loaded on demand with import(); never bundled.
  external: [/^@tensorflow\//, 'webgpu', /^node:/],
});
