/**
 * What the page scripts share: typed element lookup, element construction that only ever
 * sets attributes and text (never markup), and guards for reading untrusted JSON.
 */

/** Attribute values; null, undefined and false leave the attribute out. */
export type Attributes = Record<string, unknown>;
/** A child: a Node as it is, anything else as its text (null and undefined: nothing). */
export type Child = unknown;

/** The element with this id, which must be of this type (a page that lacks it is a bug). */
export function byId<T extends Element>(id: string, type: abstract new () => T): T {
  const element = document.getElementById(id);
  if (!(element instanceof type)) throw new Error(`the page has no ${type.name} #${id}`);
  return element;
}

/** An HTML element: attributes set with setAttribute, children appended as nodes or text. */
export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null && value !== false)
      node.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

export const list = (x: unknown): unknown[] => (Array.isArray(x) ? x : []);

/** A JSON object's fields, or none when it is not an object. */
export function record(x: unknown): Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x)
    ? (x as Record<string, unknown>)
    : {};
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element with these attributes, appended to `parent` when one is given. */
export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | number> | null,
  parent?: Element,
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, tag);
  if (attributes !== null)
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  parent?.appendChild(node);
  return node;
}
