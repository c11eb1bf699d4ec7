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
  // Pages 4 and 5 are being built separately; their slots keep the menu and the routes stable.
  { id: 'transformer', title: 'Transformer', load: () => import('./placeholder').then((m) => ({ mount: m.placeholder('A tiny character-level GPT trained in the page.') })) },
  { id: 'decoding', title: 'Decoding', load: () => import('./placeholder').then((m) => ({ mount: m.placeholder('Greedy, beam and sampling decoders on a grapheme-to-phoneme model.') })) },
];
