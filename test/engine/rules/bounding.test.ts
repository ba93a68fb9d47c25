import { describe, expect, it } from 'vitest';
import {
  appendExcerpt,
  boundDepth,
  boundPayload,
  EXCERPT_MAX_BYTES,
  LOG_CHUNK_LIMITS,
  liveLogChunk,
  PAYLOAD_LIMITS,
  sanitizeLogChunk,
  truncateText,
} from '../../../engine/rules/bounding.ts';

/** An array nested `levels` deep around `leaf`: nest(0, x) = x, nest(1, x) = [x]. */
const nestArrays = (levels: number, leaf: unknown): unknown => (levels === 0 ? leaf : [nestArrays(levels - 1, leaf)]);
const nestObjects = (levels: number, leaf: unknown): unknown =>
  levels === 0 ? leaf : { n: nestObjects(levels - 1, leaf) };
const keysObject = (count: number) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, i]));
const utf8Bytes = (s: string) => Buffer.byteLength(s, 'utf8');

describe('boundPayload', () => {
  it('exports the spec limits', () => {
    expect(PAYLOAD_LIMITS).toEqual({ maxString: 16_384, maxItems: 50, maxKeys: 100, maxDepth: 6 });
  });

  it('keeps a "__proto__" key (valid JSON) as a key, without touching any prototype', () => {
    const parsed = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}');
    const bounded = boundPayload(parsed) as Record<string, unknown>;
    expect(JSON.stringify(bounded)).toBe('{"__proto__":{"polluted":true},"a":1}');
    expect(Object.getPrototypeOf(bounded)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each([
    ['short string', 'hello', 'hello'],
    ['string at the limit', 'a'.repeat(16_384), 'a'.repeat(16_384)],
    ['string one over', 'a'.repeat(16_385), `${'a'.repeat(16_384)}\n[truncated 1 chars]`],
    ['string far over', 'b'.repeat(20_000), `${'b'.repeat(16_384)}\n[truncated 3616 chars]`],
    ['number', 42, 42],
    ['fraction', -1.5, -1.5],
    ['NaN', Number.NaN, null],
    ['Infinity', Number.POSITIVE_INFINITY, null],
    ['-Infinity', Number.NEGATIVE_INFINITY, null],
    ['boolean', true, true],
    ['null', null, null],
    ['undefined at the root', undefined, null],
    ['function', () => 1, null],
    ['symbol', Symbol('x'), null],
    ['bigint', 10n, null],
    ['Date', new Date('2026-04-01T12:00:00.000Z'), '2026-04-01T12:00:00.000Z'],
    ['invalid Date', new Date(Number.NaN), null],
  ])('scalar: %s', (_name, input, expected) => {
    expect(boundPayload(input)).toEqual(expected);
  });

  it.each([
    ['non-JSON array items become null', [1, undefined, () => 1, Symbol('s'), 2n, Number.NaN, 'x'], [1, null, null, null, null, null, 'x']],
    ['undefined properties are dropped, other non-JSON become null', { a: undefined, b: () => 1, c: 1n, d: 1 }, { b: null, c: null, d: 1 }],
    ['nested Date', { at: [new Date(0)] }, { at: ['1970-01-01T00:00:00.000Z'] }],
    ['nested long string', { s: 'z'.repeat(16_390) }, { s: `${'z'.repeat(16_384)}\n[truncated 6 chars]` }],
  ])('%s', (_name, input, expected) => {
    expect(boundPayload(input)).toEqual(expected);
  });

  it.each([
    [49, 49, undefined],
    [50, 50, undefined],
    [51, 50, 1],
    [120, 50, 70],
  ])('array of %i items keeps %i (omitted %s)', (length, kept, omitted) => {
    const input = Array.from({ length }, (_, i) => i);
    const out = boundPayload(input) as unknown[];
    expect(out.slice(0, kept)).toEqual(input.slice(0, kept));
    if (omitted === undefined) expect(out).toHaveLength(length);
    else expect(out).toEqual([...input.slice(0, kept), { _truncated: true, omittedItems: omitted }]);
  });

  it.each([
    [99, undefined],
    [100, undefined],
    [101, 1],
    [150, 50],
  ])('object of %i keys (omitted %s)', (count, omitted) => {
    const out = boundPayload(keysObject(count)) as Record<string, unknown>;
    const kept = Math.min(count, 100);
    expect(Object.keys(out).filter((k) => k.startsWith('k'))).toEqual(Object.keys(keysObject(kept)));
    if (omitted === undefined) expect(out).toEqual(keysObject(count));
    else expect(out).toMatchObject({ _truncated: true, _omittedKeys: omitted });
  });

  it('undefined properties take no slot among the 100 keys', () => {
    const input = { ...keysObject(100), gone: undefined };
    expect(boundPayload(input)).toEqual(keysObject(100));
  });

  // Root = depth 0; a container at depth >= 6 is replaced by a summary.
  it.each([
    ['array at depth 5 is kept', nestArrays(6, 'leaf'), nestArrays(6, 'leaf')],
    ['array at depth 6 is summarised', nestArrays(7, 'leaf'), nestArrays(6, { _truncated: true, type: 'array', originalLength: 1 })],
    ['object at depth 5 is kept', nestObjects(6, 'leaf'), nestObjects(6, 'leaf')],
    [
      'object at depth 6 is summarised',
      nestObjects(6, { a: 1, b: { deep: true } }),
      nestObjects(6, { _truncated: true, type: 'object', keys: ['a', 'b'] }),
    ],
    [
      'strings at depth 6 are still bounded',
      nestArrays(6, 'a'.repeat(16_385)),
      nestArrays(6, `${'a'.repeat(16_384)}\n[truncated 1 chars]`),
    ],
  ])('%s', (_name, input, expected) => {
    expect(boundPayload(input)).toEqual(expected);
  });

  it('the depth summary lists at most 20 keys and the original array length', () => {
    expect(boundPayload(nestObjects(6, keysObject(30)))).toEqual(
      nestObjects(6, { _truncated: true, type: 'object', keys: Object.keys(keysObject(20)) }),
    );
    expect(boundPayload(nestArrays(6, [1, 2, 3]))).toEqual(
      nestArrays(6, { _truncated: true, type: 'array', originalLength: 3 }),
    );
  });

  it('replaces cycles with "[Circular]" but serialises shared siblings twice', () => {
    const cyclic: Record<string, unknown> = { name: 'root' };
    cyclic.self = cyclic;
    const list: unknown[] = [1];
    list.push(list);
    const shared = { v: 1 };
    expect(boundPayload(cyclic)).toEqual({ name: 'root', self: '[Circular]' });
    expect(boundPayload(list)).toEqual([1, '[Circular]']);
    expect(boundPayload({ a: shared, b: shared, c: [shared, shared] })).toEqual({
      a: { v: 1 },
      b: { v: 1 },
      c: [{ v: 1 }, { v: 1 }],
    });
  });

  it('never throws on hostile objects', () => {
    const getter = Object.defineProperty({ ok: 1 }, 'bad', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    });
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    expect(boundPayload(getter)).toEqual({ ok: 1, bad: null });
    expect(boundPayload({ p: revoked.proxy })).toEqual({ p: null });
  });

  it('output is JSON-stable', () => {
    const input = { a: [1, 'x', { b: new Date(0), c: undefined }], d: Number.NaN };
    const out = boundPayload(input);
    expect(JSON.parse(JSON.stringify(out))).toEqual(out);
  });
});

describe('sanitizeLogChunk', () => {
  const image = (data: string, sep = '', mediaType = true) =>
    `{"type":"image",${sep}"source":${sep}{"type":${sep}"base64",${mediaType ? `${sep}"media_type":"image/png",` : ''}${sep}"data":${sep}"${data}"}}`;

  it('exports the spec limits', () => {
    expect(LOG_CHUNK_LIMITS).toEqual({ persisted: 65_536, head: 39_321, tail: 16_384, live: 8_192 });
  });

  it.each([
    ['data of 1 023 chars is kept', image('A'.repeat(1_023)), image('A'.repeat(1_023))],
    ['data of 1 024 chars is omitted', image('A'.repeat(1_024)), image('[omitted base64 image data: 1024 chars]')],
    ['without media_type', image('B'.repeat(2_000), '', false), image('[omitted base64 image data: 2000 chars]', '', false)],
    ['with whitespace around separators', image('C'.repeat(1_500), ' '), image('[omitted base64 image data: 1500 chars]', ' ')],
    [
      'spaces around colons',
      `"type" : "image" , "source" : { "type" : "base64" , "media_type" : "image/jpeg" , "data" : "${'D'.repeat(1_100)}"}`,
      `"type" : "image" , "source" : { "type" : "base64" , "media_type" : "image/jpeg" , "data" : "[omitted base64 image data: 1100 chars]"}`,
    ],
    [
      'several images in one chunk',
      `${image('E'.repeat(1_024))}\n${image('F'.repeat(3))}\n${image('G'.repeat(4_096))}`,
      `${image('[omitted base64 image data: 1024 chars]')}\n${image('F'.repeat(3))}\n${image('[omitted base64 image data: 4096 chars]')}`,
    ],
    ['non-image base64 is left alone', `{"type":"document","source":{"type":"base64","data":"${'H'.repeat(2_000)}"}}`, `{"type":"document","source":{"type":"base64","data":"${'H'.repeat(2_000)}"}}`],
    ['plain text', 'hello\nworld', 'hello\nworld'],
  ])('%s', (_name, input, expected) => {
    expect(sanitizeLogChunk(input)).toBe(expected);
  });

  it.each([
    [65_535, false],
    [65_536, false],
    [65_537, true],
    [200_000, true],
  ])('a chunk of %i chars truncated=%s', (length, truncated) => {
    const input = Array.from({ length }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
    const out = sanitizeLogChunk(input);
    if (!truncated) {
      expect(out).toBe(input);
      return;
    }
    const omitted = length - 39_321 - 16_384;
    const marker = `\n[heartbeat truncated run log chunk: omitted ${omitted} chars]\n`;
    expect(out).toBe(input.slice(0, 39_321) + marker + input.slice(-16_384));
  });

  it('measures the length after image data was omitted', () => {
    const big = image('I'.repeat(70_000));
    expect(sanitizeLogChunk(big)).toBe(image('[omitted base64 image data: 70000 chars]'));
  });

  it('does not split a surrogate pair at the head cut', () => {
    const input = `${'a'.repeat(39_320)}😀${'b'.repeat(30_000)}`;
    const out = sanitizeLogChunk(input);
    expect(out.startsWith(`${'a'.repeat(39_320)}\n[heartbeat truncated run log chunk: omitted`)).toBe(true);
    expect(out).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });
});

describe('liveLogChunk', () => {
  it.each([
    [0, false],
    [8_191, false],
    [8_192, false],
    [8_193, true],
    [50_000, true],
  ])('%i chars -> truncated %s', (length, truncated) => {
    const input = Array.from({ length }, (_, i) => String(i % 10)).join('');
    expect(liveLogChunk(input)).toEqual({ chunk: truncated ? input.slice(-8_192) : input, truncated });
  });
});

describe('appendExcerpt', () => {
  it('defaults to 32 KiB', () => {
    expect(EXCERPT_MAX_BYTES).toBe(32_768);
    const out = appendExcerpt('x'.repeat(30_000), 'y'.repeat(5_000));
    expect(out).toBe('x'.repeat(27_768) + 'y'.repeat(5_000));
  });

  it.each([
    ['fits', 'abc', 'def', 10, 'abcdef'],
    ['exactly the limit', 'abcde', 'fghij', 10, 'abcdefghij'],
    ['keeps the last bytes', 'abcde', 'fghijk', 10, 'bcdefghijk'],
    ['chunk alone larger than the limit', '', '0123456789abc', 10, '3456789abc'],
    ['empty inputs', '', '', 10, ''],
    ['zero limit', 'abc', 'def', 0, ''],
    // é = 2 bytes: a cut inside it drops the whole character.
    ['cut inside a 2-byte char', 'é', 'abc', 4, 'abc'],
    ['cut before a 2-byte char', 'xé', 'abc', 5, 'éabc'],
    // € = 3 bytes.
    ['cut inside a 3-byte char (1 byte in)', '€', 'ab', 4, 'ab'],
    ['cut inside a 3-byte char (2 bytes in)', '€', 'ab', 3, 'ab'],
    ['whole 3-byte char fits', 'x€', 'ab', 5, '€ab'],
    // 😀 = 4 bytes, 2 UTF-16 units.
    ['cut inside a 4-byte char', '😀', 'ab', 5, 'ab'],
    ['whole 4-byte char fits', 'x😀', 'ab', 6, '😀ab'],
    ['multi-byte chunk', 'abc', '€€€', 7, '€€'],
    ['emoji run', '', '😀😀😀', 9, '😀😀'],
  ])('%s', (_name, excerpt, chunk, maxBytes, expected) => {
    const out = appendExcerpt(excerpt, chunk, maxBytes);
    expect(out).toBe(expected);
    expect(utf8Bytes(out)).toBeLessThanOrEqual(maxBytes);
    expect(out.startsWith('\uFFFD')).toBe(false);
  });

  it('keeps a long mixed excerpt within the byte limit at every cut position', () => {
    let excerpt = '';
    for (let i = 0; i < 400; i++) {
      excerpt = appendExcerpt(excerpt, `é€😀a${i}`, 97);
      expect(utf8Bytes(excerpt)).toBeLessThanOrEqual(97);
      // A cut loses at most the 3 leading bytes of one 4-byte character.
      if (i > 20) expect(utf8Bytes(excerpt)).toBeGreaterThan(93);
      expect(excerpt).not.toContain('\uFFFD');
      expect(excerpt.endsWith(`a${i}`)).toBe(true);
    }
  });
});

describe('truncateText', () => {
  it.each([
    ['shorter', 'abc', 5, 'abc'],
    ['exactly max', 'abcde', 5, 'abcde'],
    ['one over', 'abcdef', 5, 'ab...'],
    ['far over', 'x'.repeat(600), 500, `${'x'.repeat(497)}...`],
    ['empty', '', 3, ''],
    ['does not split a surrogate pair', 'ab😀cdef', 6, 'ab...'],
  ])('%s', (_name, text, max, expected) => {
    const out = truncateText(text, max);
    expect(out).toBe(expected);
    expect(out.length).toBeLessThanOrEqual(max);
  });
});

describe('boundDepth', () => {
  /** Built in a loop: far deeper than any recursion could go. */
  const deepObjects = (levels: number) => {
    let value: unknown = 'leaf';
    for (let i = 0; i < levels; i++) value = { n: value, i };
    return value;
  };

  it('returns the value itself when nothing nests that deep', () => {
    const value = { a: [1, { b: 'x'.repeat(100_000) }], c: null };
    expect(boundDepth(value, 3)).toBe(value);
  });

  it('replaces what nests deeper with a marker and keeps everything above it, siblings included', () => {
    const value = { keep: 1, list: [[['too deep']]], obj: { a: { b: { c: 1 } } } };
    expect(boundDepth(value, 3)).toEqual({
      keep: 1,
      list: [[{ _truncated: true, type: 'array', originalLength: 1 }]],
      obj: { a: { b: { _truncated: true, type: 'object', keys: ['c'] } } },
    });
    expect(value.list).toEqual([[['too deep']]]); // the input is not changed
  });

  it('cuts a result nested 100,000 deep to one that can be serialized', () => {
    const bounded = boundDepth(deepObjects(100_000), 64);
    let depth = 0;
    for (let node = bounded as Record<string, unknown>; !node._truncated; node = node.n as Record<string, unknown>) depth++;
    expect(depth).toBe(64);
    expect(() => JSON.stringify(bounded)).not.toThrow();
  });

  it('keeps a "__proto__" key (valid JSON) as a key on a copy', () => {
    const bounded = boundDepth(JSON.parse('{"__proto__": {"deep": [[1]]}, "a": 1}'), 2) as Record<string, unknown>;
    expect(JSON.stringify(bounded)).toBe('{"__proto__":{"deep":{"_truncated":true,"type":"array","originalLength":1}},"a":1}');
    expect(Object.getPrototypeOf(bounded)).toBe(Object.prototype);
  });
});
