/**
 * Bounds on what an untrusted frame may contain, checked at admission before anything
 * expensive (DESIGN.md, resources).
 *
 * Counters (terms, views, sequence numbers, timestamps, link sequence numbers and
 * incarnations) are at most MAX_COUNTER = 2^52. Every protocol here moves a counter by one per
 * election, view change, request or message, and JavaScript numbers are exact up to 2^53: from
 * any admitted value a node would have to count 2^53 − 2^52 ≈ 4.5·10^15 more steps before its
 * arithmetic lost precision (a million per second for 142 years). A value above the bound is
 * refused as malformed, so "term + 1" can never leave the safe integers (a Raft term of
 * 2^53 − 1 used to make the next election unsignable). The bound must also admit what honest
 * nodes send: a client without a data directory numbers its requests and link incarnation from
 * the wall clock in microseconds (about 1.8·10^15 in 2026; 2^52 µs is the year 2112), so a
 * bound of 2^48 refused every `bftkit client` request.
 *
 * Nesting is at most MAX_NESTING levels, checked on the frame's text before JSON.parse: the
 * deepest real message (a PBFT NEW-VIEW carrying VIEW-CHANGEs that carry certificates of
 * requests) is about 12 levels deep, and a megabyte of "[" costs half a second to parse.
 */
import { z } from 'zod';

export const MAX_COUNTER = 2 ** 52;
export const MAX_NESTING = 64;
/** The largest frame a node accepts unless configured otherwise (ws's maxPayload). */
export const DEFAULT_MAX_FRAME_BYTES = 1 << 20;

/** An integer in [min, MAX_COUNTER]: a term, view, sequence number or timestamp. */
export function counterSchema(min = 0) {
  return z.number().int().min(min).max(MAX_COUNTER);
}

/**
 * How deeply `text` (JSON) nests arrays and objects, or Infinity as soon as it passes `limit`.
 * Brackets inside strings do not count. One pass over the characters, no allocation.
 */
export function nestingDepth(text: string, limit = MAX_NESTING): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return Number.POSITIVE_INFINITY;
      if (depth > deepest) deepest = depth;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}
