/**
 * `import()` of a specifier bundlers must not touch: optional backends and Node built-ins, which a browser
 * bundle never loads. A variable specifier plus the ignore comments keeps Vite, webpack and esbuild from
 * resolving them at build time.
 */
export function importAtRuntime<T = unknown>(specifier: string): Promise<T> {
  return import(/* @vite-ignore */ /* webpackIgnore: true */ specifier) as Promise<T>;
}
