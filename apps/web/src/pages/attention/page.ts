import type { Mount } from '../registry';
export const mount: Mount = (root) => { root.textContent = 'todo'; return () => {}; };
