/** Indices of a row sorted by value, descending (ties: lower index first). */
export function sortDescending(values: ArrayLike<number>, n: number): Uint32Array {
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  return idx.sort((a, b) => (values[b] > values[a] ? 1 : values[b] < values[a] ? -1 : a - b));
}

/** Indices of a row sorted by value, ascending (ties: lower index first). */
export function sortAscending(values: ArrayLike<number>, n: number): Uint32Array {
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  return idx.sort((a, b) => (values[a] < values[b] ? -1 : values[a] > values[b] ? 1 : a - b));
}

/** Indices of the entries > 0 of a row, sorted by value descending (ties: lower index first). */
export function positiveDescending(values: ArrayLike<number>, n: number): number[] {
  const idx: number[] = [];
  for (let i = 0; i < n; i++) if (values[i] > 0) idx.push(i);
  return idx.sort((a, b) => (values[b] > values[a] ? 1 : values[b] < values[a] ? -1 : a - b));
}
