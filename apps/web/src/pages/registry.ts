/**
 * The pages, in menu order. Each is a lazily loaded module exporting `mount(root, params)`, which
 * builds the page in `root` and returns a function that tears it down (stops its worker).
 */
export type Mount = (root: HTMLElement, params: URLSearchParams) => () => void;

export interface PageEntry {
  /** The hash route, `#/<id>`. */
  id: string;
  title: string;
  load: () => Promise<{ mount: Mount }>;
}

export const PAGES: PageEntry[] = [
  { id: 'optimizers', title: 'Optimizers', load: () => import('./optimizers/page') },
  { id: 'cnn', title: 'CNN', load: () => import('./cnn/page') },
  { id: 'attention', title: 'Attention', load: () => import('./attention/page') },
  { id: 'transformer', title: 'Transformer', load: () => import('./transformer/page') },
  { id: 'decoding', title: 'Decoding', load: () => import('./decoding/page') },
];
