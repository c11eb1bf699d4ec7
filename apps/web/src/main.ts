/**
 * The app shell: a menu and a hash router (`#/optimizers?backend=wasm`). Pages are loaded on demand, so
 * the first load is this shell plus one page; tfjs backends load in the page's worker.
 */
import './style.css';
import { PAGES } from './pages/registry';

const nav = document.getElementById('nav')!;
const root = document.getElementById('page')!;
for (const p of PAGES) {
  const a = document.createElement('a');
  a.href = `#/${p.id}`;
  a.textContent = p.title;
  a.dataset.page = p.id;
  nav.append(a);
}

let unmount: (() => void) | null = null;
let generation = 0;

async function route() {
  const [path, query = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const page = PAGES.find((p) => p.id === path) ?? PAGES[0];
  const mine = ++generation;
  unmount?.();
  unmount = null;
  root.replaceChildren();
  for (const a of nav.querySelectorAll('a')) a.classList.toggle('active', a.dataset.page === page.id);
  document.title = `${page.title} · @dl in the browser`;
  const { mount } = await page.load();
  if (mine !== generation) return; // another route won while this page was loading
  root.dataset.page = page.id;
  unmount = mount(root, new URLSearchParams(query));
}

window.addEventListener('hashchange', route);
route();
