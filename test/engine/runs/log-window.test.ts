// Cutting a log window out of stored pieces (runs/run-log.ts cutWindow): bytes of UTF-8, never
// starting or ending inside a character.
import { describe, expect, it } from 'vitest';
import { cutWindow } from '../../../engine/runs/run-log.ts';

const pieces = (...texts: string[]) => {
  let at = 0;
  return texts.map((text) => {
    const bytes = Buffer.from(text, 'utf8');
    const piece = { at, bytes };
    at += bytes.length;
    return piece;
  });
};
const cut = (texts: string[], start: number, end: number) => {
  const window = cutWindow(pieces(...texts), start, end);
  return [window.start, window.bytes.toString('utf8')];
};

describe('cutWindow', () => {
  it('joins the pieces it overlaps and cuts them to the window', () => {
    expect(cut(['abc', 'def', 'ghi'], 2, 7)).toEqual([2, 'cdefg']);
    expect(cut(['abc', 'def'], 0, 6)).toEqual([0, 'abcdef']);
  });

  it('a start inside a character moves to the next one; an end inside one backs off before it', () => {
    // "aé" is a, then é as two bytes (1, 2); "€" is three bytes.
    expect(cut(['aé', '€b'], 2, 7)).toEqual([3, '€b']);
    expect(cut(['aé', '€b'], 0, 4)).toEqual([0, 'aé']);
    expect(cut(['aé', '€b'], 0, 2)).toEqual([0, 'a']);
  });

  it('the log ending inside the window ends the window; an empty window is empty', () => {
    expect(cut(['abc'], 1, 100)).toEqual([1, 'bc']);
    expect(cut(['abc'], 3, 3)).toEqual([3, '']);
    expect(cutWindow([], 5, 10).bytes.length).toBe(0);
  });
});
