/**
 * The pages' scripts as the HTML inlines them (src/web/page-script.ts): each page/*.ts entry
 * bundled into one classic script that needs nothing else — no module syntax left, nothing
 * of Node's, nothing that could end the <script> element early.
 */
import { describe, expect, it } from 'vitest';
import { type PageName, pageScript } from '../../src/web/page-script.js';

const PAGES: PageName[] = ['trace-viewer', 'dashboard'];

describe('pageScript', () => {
  for (const name of PAGES) {
    it(`${name}: one self-contained IIFE`, () => {
      const script = pageScript(name);
      expect(script.startsWith('"use strict";\n(() => {\n')).toBe(true);
      expect(script.endsWith('})();\n')).toBe(true);
      // Static imports and exports are gone: the modules are inlined. (The dashboard's one
      // dynamic import() of /proof-check.js stays: it loads at run time, from its own origin.)
      expect(script).not.toMatch(/^\s*(import|export)\b[^(]/m);
      expect(script).not.toMatch(/\bnode:|\brequire\(/);
      expect(script).not.toMatch(/<\/script/i);
    });
  }

  it('each bundle holds the helpers both pages share, and only its own page', () => {
    expect(pageScript('trace-viewer')).toContain('function byId(');
    expect(pageScript('dashboard')).toContain('function byId(');
    expect(pageScript('trace-viewer')).toContain('function parseTrace(');
    expect(pageScript('dashboard')).not.toContain('function parseTrace(');
  });
});
