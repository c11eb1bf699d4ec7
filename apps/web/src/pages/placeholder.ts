import type { Mount } from './registry';
import { h } from '../ui/dom';

/** A page that is not built yet: says what will be here. */
export function placeholder(what: string): Mount {
  return (root) => {
    root.append(h('p', { class: 'placeholder' }, `${what} This page is not built yet.`));
    return () => {};
  };
}
