/** A tiny element builder: `h('button', { class: 'x', onclick }, 'text')`. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Record<string, unknown> = {},
  ...children: (Node | string | null | undefined | false)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v == null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v as EventListener);
    else if (k === 'class') el.className = String(v);
    else if (k === 'style') el.setAttribute('style', String(v));
    else if (k in el && typeof v !== 'string') (el as unknown as Record<string, unknown>)[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c != null && c !== false) el.append(c);
  return el;
}

/** A number input bound to a label. */
export function numberField(label: string, value: number, props: Record<string, unknown> = {}): { el: HTMLLabelElement; input: HTMLInputElement } {
  const input = h('input', { type: 'number', value: String(value), step: 'any', ...props });
  return { el: h('label', { class: 'field' }, `${label} `, input), input };
}
