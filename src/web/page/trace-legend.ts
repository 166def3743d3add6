/** The trace viewer's legend: every mark, arrow and band the diagram uses, and what it means. */
import { byId, svg } from './dom.js';
import { CATEGORIES, PALETTE, shapeEl } from './trace-shapes.js';
import { html } from './trace-text.js';

export function drawLegend(): void {
  const legend = byId('legend', HTMLElement);
  const color = PALETTE[0];
  const item = (text: string, draw: (icon: SVGSVGElement) => void) => {
    const icon = svg('svg', { width: 28, height: 18, viewBox: '-14 -9 28 18' }, legend);
    draw(icon);
    html('span', text, legend);
  };
  for (const c of CATEGORIES) item(c.label, (g) => shapeEl(c.id, color, g));
  item('message (colour = kind)', (g) => {
    svg('path', { d: 'M-12,6L10,-5', stroke: color, 'stroke-width': 1.5, fill: 'none' }, g);
    svg('path', { d: 'M5,-7L11,-5.5L7,-1Z', fill: color }, g);
  });
  item('send never delivered', (g) => {
    const dash = { stroke: color, 'stroke-width': 1.5, 'stroke-dasharray': '4 3' };
    svg('path', { d: 'M-12,6L6,-3', ...dash, fill: 'none' }, g);
  });
  item('Byzantine instance', (g) => {
    svg('rect', { x: -14, y: -8, width: 28, height: 16, fill: '#fee2e2' }, g);
    svg('line', { x1: -14, y1: 0, x2: 14, y2: 0, stroke: '#dc2626', 'stroke-width': 2 }, g);
  });
  item('instance down (crash → restart)', (g) => {
    svg(
      'rect',
      { x: -14, y: -6, width: 28, height: 12, fill: 'url(#hatch)', stroke: '#9ca3af' },
      g,
    );
  });
  item('partition (band until heal)', (g) => {
    svg('rect', { x: -14, y: -9, width: 28, height: 18, fill: '#fde68a', opacity: 0.6 }, g);
    const edge = { stroke: '#d97706', 'stroke-dasharray': '3 2' };
    svg('line', { x1: -10, y1: -9, x2: -10, y2: 9, ...edge }, g);
  });
  item('causal past of the selected event', (g) => {
    svg('circle', { r: 6, fill: '#fef08a', stroke: '#ca8a04' }, g);
    svg('circle', { r: 3.5, fill: color }, g);
  });
}
