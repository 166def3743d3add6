/** The trace viewer's filters: a checkbox per instance, message kind and event category. */
import { byId } from './dom.js';
import { CATEGORIES, colorOfKind } from './trace-shapes.js';
import { html } from './trace-text.js';
import type { ViewState } from './trace-view-state.js';

/** Build the checkboxes; each toggles its entry of the state's hidden sets, then `changed`. */
export function buildFilters(state: ViewState, changed: () => void): void {
  const model = state.model;
  const toggler =
    <T>(set: Set<T>, key: T) =>
    (checked: boolean) => {
      if (checked) set.delete(key);
      else set.add(key);
      changed();
    };
  for (const l of model.lanes) {
    const text = l.id + (l.byzantine ? ' (Byzantine)' : '');
    const box = checkbox(byId('filter-nodes', HTMLElement), text, toggler(state.hiddenNodes, l.id));
    box.setAttribute('data-node', l.id);
  }
  for (const k of model.kinds) {
    const swatch = colorOfKind(model.colorOf, k);
    const box = checkbox(
      byId('filter-kinds', HTMLElement),
      k,
      toggler(state.hiddenKinds, k),
      swatch,
    );
    box.setAttribute('data-kind', k);
  }
  const presentCats = new Set(model.events.map((e) => e.cat));
  for (const c of CATEGORIES) {
    if (!presentCats.has(c.id)) continue;
    const box = checkbox(
      byId('filter-cats', HTMLElement),
      c.label,
      toggler(state.hiddenCats, c.id),
    );
    box.setAttribute('data-category', c.id);
  }
}

/** A checked box with its label (and a colour swatch, for a message kind). */
function checkbox(
  parent: Element,
  text: string,
  onChange: (checked: boolean) => void,
  swatch?: string,
): HTMLInputElement {
  const label = html('label', undefined, parent);
  const box = html('input', undefined, label);
  box.type = 'checkbox';
  box.checked = true;
  box.addEventListener('change', () => onChange(box.checked));
  if (swatch !== undefined) {
    const s = html('span', undefined, label);
    s.className = 'swatch';
    s.style.background = swatch;
  }
  html('span', text, label);
  return box;
}
