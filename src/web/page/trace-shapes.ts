/**
 * How the trace viewer draws things: the colours of message kinds, and one mark per event
 * category (each with a filter checkbox and a legend entry).
 */
import { svg } from './dom.js';

export const PALETTE = [
  '#2563eb',
  '#d97706',
  '#059669',
  '#7c3aed',
  '#db2777',
  '#0891b2',
  '#65a30d',
  '#b91c1c',
  '#475569',
  '#9333ea',
  '#0d9488',
  '#ca8a04',
] as const;

export const DEFAULT_COLOR = '#6b7280';

type Shape = 'dot' | 'ring' | 'square' | 'diamond' | 'triangle' | 'up' | 'down' | 'cross' | 'star';

export interface Category {
  id: string;
  label: string;
  shape: Shape;
  size: number;
  fill?: string;
  stroke?: string;
  width?: number;
}

export const CATEGORIES: readonly Category[] = [
  { id: 'send', label: 'send', shape: 'dot', size: 3 },
  { id: 'deliver', label: 'deliver', shape: 'dot', size: 4.2, stroke: '#fff' },
  {
    id: 'commit',
    label: 'commit / execute / apply',
    shape: 'diamond',
    size: 6.5,
    fill: '#16a34a',
    stroke: '#14532d',
  },
  {
    id: 'view',
    label: 'view / leader change',
    shape: 'triangle',
    size: 7,
    fill: '#7c3aed',
    stroke: '#4c1d95',
  },
  {
    id: 'adversary',
    label: 'adversary action',
    shape: 'star',
    size: 8,
    fill: '#dc2626',
    stroke: '#7f1d1d',
  },
  { id: 'reject', label: 'rejection', shape: 'cross', size: 5, stroke: '#dc2626', width: 2.4 },
  { id: 'crash', label: 'crash', shape: 'cross', size: 7, stroke: '#111827', width: 3 },
  { id: 'restart', label: 'restart', shape: 'ring', size: 6, stroke: '#16a34a', width: 2.5 },
  { id: 'start', label: 'start', shape: 'ring', size: 4.5, stroke: '#374151', width: 1.6 },
  { id: 'request', label: 'request (from above)', shape: 'down', size: 5.5, fill: '#0369a1' },
  { id: 'output', label: 'output (to above)', shape: 'up', size: 5.5, fill: '#0f766e' },
  { id: 'timer', label: 'timer', shape: 'square', size: 3.5, fill: '#9ca3af' },
  {
    id: 'persist',
    label: 'persist',
    shape: 'square',
    size: 3,
    fill: '#e5e7eb',
    stroke: '#9ca3af',
  },
  {
    id: 'note',
    label: 'other note',
    shape: 'diamond',
    size: 4.5,
    fill: '#f59e0b',
    stroke: '#92400e',
  },
  {
    id: 'network',
    label: 'partition / heal / network',
    shape: 'down',
    size: 6,
    fill: '#d97706',
  },
];

const CATEGORY = new Map(CATEGORIES.map((c) => [c.id, c]));
const NOTE = CATEGORY.get('note')!;

/** A closed path through [x, y] points. */
function polygon(points: readonly (readonly [number, number])[]): string {
  return `M${points.map(([x, y]) => `${x.toFixed(2)},${y.toFixed(2)}`).join('L')}Z`;
}

type Paint = Record<string, string | number>;

/** The outline of each shape of size s, centred on (0, 0). */
const OUTLINES: Record<Shape, (s: number, paint: Paint, parent: Element) => SVGElement> = {
  dot: (s, paint, parent) => svg('circle', { r: s, ...paint }, parent),
  ring: (s, paint, parent) => svg('circle', { r: s, ...paint, fill: '#fff' }, parent),
  square: (s, paint, parent) =>
    svg('rect', { x: -s, y: -s, width: 2 * s, height: 2 * s, ...paint }, parent),
  diamond: (s, paint, parent) =>
    svg(
      'path',
      {
        d: polygon([
          [0, -s],
          [s, 0],
          [0, s],
          [-s, 0],
        ]),
        ...paint,
      },
      parent,
    ),
  triangle: (s, paint, parent) => upTriangle(s, paint, parent),
  up: (s, paint, parent) => upTriangle(s, paint, parent),
  down: (s, paint, parent) =>
    svg(
      'path',
      {
        d: polygon([
          [0, s],
          [s * 0.9, -s * 0.7],
          [-s * 0.9, -s * 0.7],
        ]),
        ...paint,
      },
      parent,
    ),
  cross: (s, paint, parent) => {
    const d = `M${-s},${-s}L${s},${s}M${s},${-s}L${-s},${s}`;
    return svg('path', { d, ...paint, fill: 'none', 'stroke-linecap': 'round' }, parent);
  },
  star: (s, paint, parent) => svg('path', { d: polygon(starPoints(s)), ...paint }, parent),
};

function upTriangle(s: number, paint: Paint, parent: Element): SVGElement {
  return svg(
    'path',
    {
      d: polygon([
        [0, -s],
        [s * 0.9, s * 0.7],
        [-s * 0.9, s * 0.7],
      ]),
      ...paint,
    },
    parent,
  );
}

/** A five-pointed star: outer radius s, inner 0.45 s, the first point straight up. */
function starPoints(s: number): [number, number][] {
  const points: [number, number][] = [];
  for (let k = 0; k < 10; k++) {
    const r = k % 2 === 0 ? s : s * 0.45;
    const a = (Math.PI / 5) * k - Math.PI / 2;
    points.push([r * Math.cos(a), r * Math.sin(a)]);
  }
  return points;
}

/** The mark of an event category, centred on (0, 0). */
export function shapeEl(category: string, color: string | null, parent: Element): SVGElement {
  const c = CATEGORY.get(category) ?? NOTE;
  const paint = {
    fill: c.fill || color || DEFAULT_COLOR,
    stroke: c.stroke || 'none',
    'stroke-width': c.width || 1,
  };
  const el = OUTLINES[c.shape](c.size, paint, parent);
  el.setAttribute('class', 'shape');
  return el;
}

/** The colour of a message kind: its palette entry, the default for a kind the model lacks. */
export function colorOfKind(colorOf: ReadonlyMap<string, number>, kind: string): string {
  const i = colorOf.get(kind);
  return i === undefined ? DEFAULT_COLOR : PALETTE[i]!;
}
