// Size bounds for everything the engine persists or publishes from untrusted agent output: event
// payloads (spec §6.6), log chunks (§6.5), stdout/stderr excerpts (§3) and short texts. Pure: no I/O.

export const PAYLOAD_LIMITS = { maxString: 16_384, maxItems: 50, maxKeys: 100, maxDepth: 6 } as const;

/** Keys reported for an object replaced at the depth limit. */
const DEPTH_SUMMARY_KEYS = 20;

/**
 * Makes `value` JSON-safe and bounded (spec §6.6) so an event payload can always be stored as jsonb and
 * sent to subscribers. Never throws: anything that cannot be read becomes null.
 */
export function boundPayload(value: unknown): unknown {
  return boundValue(value, 0, new Set());
}

function boundValue(value: unknown, depth: number, ancestors: Set<object>): unknown {
  try {
    switch (typeof value) {
      case 'string':
        return boundString(value);
      case 'number':
        return Number.isFinite(value) ? value : null;
      case 'boolean':
        return value;
      case 'object':
        break;
      default:
        // undefined, function, symbol, bigint: no JSON form.
        return null;
    }
    if (value === null) return null;
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
    // Only the current path counts: the same object reached twice through siblings is not a cycle.
    if (ancestors.has(value)) return '[Circular]';
    if (Array.isArray(value)) return boundArray(value, depth, ancestors);
    return boundObject(value as Record<string, unknown>, depth, ancestors);
  } catch {
    // Throwing getters, revoked proxies and the like.
    return null;
  }
}

function boundString(value: string): string {
  if (value.length <= PAYLOAD_LIMITS.maxString) return value;
  const kept = cutHead(value, PAYLOAD_LIMITS.maxString);
  return `${kept}\n[truncated ${value.length - kept.length} chars]`;
}

function boundArray(value: unknown[], depth: number, ancestors: Set<object>): unknown {
  if (depth >= PAYLOAD_LIMITS.maxDepth) {
    return { _truncated: true, type: 'array', originalLength: value.length };
  }
  ancestors.add(value);
  try {
    const limit = Math.min(value.length, PAYLOAD_LIMITS.maxItems);
    const out: unknown[] = [];
    for (let i = 0; i < limit; i++) out.push(boundValue(value[i], depth + 1, ancestors));
    if (value.length > limit) out.push({ _truncated: true, omittedItems: value.length - limit });
    return out;
  } finally {
    ancestors.delete(value);
  }
}

function boundObject(value: Record<string, unknown>, depth: number, ancestors: Set<object>): unknown {
  if (depth >= PAYLOAD_LIMITS.maxDepth) {
    return { _truncated: true, type: 'object', keys: Object.keys(value).slice(0, DEPTH_SUMMARY_KEYS) };
  }
  ancestors.add(value);
  try {
    // undefined properties vanish in JSON, so they neither take a slot nor count as omitted.
    const entries: Array<[string, unknown]> = [];
    for (const key of Object.keys(value)) {
      let item: unknown;
      try {
        item = value[key];
      } catch {
        item = null;
      }
      if (item !== undefined) entries.push([key, item]);
    }
    const out: Record<string, unknown> = {};
    const limit = Math.min(entries.length, PAYLOAD_LIMITS.maxKeys);
    for (let i = 0; i < limit; i++) {
      const [key, item] = entries[i];
      const bounded = boundValue(item, depth + 1, ancestors);
      // Assigned, a "__proto__" key (valid JSON) would set the prototype and vanish: define it.
      if (key === '__proto__') Object.defineProperty(out, key, { value: bounded, enumerable: true, writable: true, configurable: true });
      else out[key] = bounded;
    }
    if (entries.length > limit) {
      out._truncated = true;
      out._omittedKeys = entries.length - limit;
    }
    return out;
  } finally {
    ancestors.delete(value);
  }
}

/** How deep an adapter's result and usage may nest: deeper can be neither stored (jsonb) nor serialized. */
export const RESULT_MAX_DEPTH = 64;

/**
 * `value` with every object or array nested `maxDepth` levels deep replaced by a marker, as
 * boundPayload marks them; `value` itself, not a copy, when nothing nests that deep. Nothing else
 * is cut: a result keeps its size, only its depth is bounded.
 */
export function boundDepth(value: unknown, maxDepth: number): unknown {
  return cutDeep(value, 0, maxDepth);
}

function cutDeep(value: unknown, depth: number, maxDepth: number): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    if (depth >= maxDepth) return { _truncated: true, type: 'array', originalLength: value.length };
    let copy: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const item = cutDeep(value[i], depth + 1, maxDepth);
      if (item !== value[i]) (copy ??= value.slice())[i] = item;
    }
    return copy ?? value;
  }
  const record = value as Record<string, unknown>;
  if (depth >= maxDepth) return { _truncated: true, type: 'object', keys: Object.keys(record).slice(0, DEPTH_SUMMARY_KEYS) };
  let copy: Record<string, unknown> | null = null;
  for (const key of Object.keys(record)) {
    const item = cutDeep(record[key], depth + 1, maxDepth);
    if (item === record[key]) continue;
    copy ??= { ...record };
    // Assigned, a "__proto__" key (valid JSON) would set the prototype: define it.
    Object.defineProperty(copy, key, { value: item, enumerable: true, writable: true, configurable: true });
  }
  return copy ?? value;
}

export const LOG_CHUNK_LIMITS = { persisted: 65_536, head: 39_321, tail: 16_384, live: 8_192 } as const;

/** Below this size inline image data is left alone: it is not what bloats logs. */
const MIN_OMITTED_IMAGE_DATA = 1_024;

// `"type":"image","source":{"type":"base64",["media_type":"...",]"data":"<data>"` as agents (Claude
// stream-json) print it. Group 1 is everything up to the data's opening quote, group 2 the data.
const INLINE_IMAGE_DATA =
  /("type"\s*:\s*"image"\s*,\s*"source"\s*:\s*\{\s*"type"\s*:\s*"base64"\s*,\s*(?:"media_type"\s*:\s*"[^"]*"\s*,\s*)?"data"\s*:\s*")([^"]*)"/g;

/** What one log chunk looks like when persisted (spec §6.5): images dropped, then head + tail. */
export function sanitizeLogChunk(chunk: string): string {
  const text = chunk.replace(INLINE_IMAGE_DATA, (match, prefix: string, data: string) =>
    data.length >= MIN_OMITTED_IMAGE_DATA
      ? `${prefix}[omitted base64 image data: ${data.length} chars]"`
      : match,
  );
  if (text.length <= LOG_CHUNK_LIMITS.persisted) return text;
  const head = cutHead(text, LOG_CHUNK_LIMITS.head);
  const tail = cutTail(text, LOG_CHUNK_LIMITS.tail);
  const omitted = text.length - head.length - tail.length;
  return `${head}\n[heartbeat truncated run log chunk: omitted ${omitted} chars]\n${tail}`;
}

/** What subscribers get for one chunk: its end, which is what a live tail shows. */
export function liveLogChunk(chunk: string): { chunk: string; truncated: boolean } {
  if (chunk.length <= LOG_CHUNK_LIMITS.live) return { chunk, truncated: false };
  return { chunk: cutTail(chunk, LOG_CHUNK_LIMITS.live), truncated: true };
}

export const EXCERPT_MAX_BYTES = 32 * 1024;

/**
 * Appends `chunk` to a stdout/stderr excerpt and keeps its last `maxBytes` UTF-8 bytes, starting on a
 * character boundary so the stored text never opens with a replacement character.
 */
export function appendExcerpt(excerpt: string, chunk: string, maxBytes: number = EXCERPT_MAX_BYTES): string {
  const limit = Math.max(0, Math.floor(maxBytes));
  let text = excerpt + chunk;
  // Every UTF-16 unit is at least one byte, so the last `limit` units hold the last `limit` bytes;
  // trimming first keeps the encode below proportional to the limit, not to the input.
  if (text.length > limit) text = cutTail(text, limit);
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= limit) return text;
  let start = bytes.length - limit;
  // Skip continuation bytes (10xxxxxx): they belong to a character cut in half.
  while (start < bytes.length && (bytes[start] & 0xc0) === 0x80) start++;
  return bytes.subarray(start).toString('utf8');
}

/** Cuts `text` to at most `max` chars, marking the cut with `...` (liveness reasons, summaries). */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 3) return '...'.slice(0, Math.max(0, max));
  return `${cutHead(text, max - 3)}...`;
}

// Cuts at UTF-16 unit counts, but never leaves half a surrogate pair behind (it would be stored as
// U+FFFD); the result may then be one unit shorter than asked.
function cutHead(text: string, units: number): string {
  if (text.length <= units) return text;
  const head = text.slice(0, units);
  return isHighSurrogate(head.charCodeAt(head.length - 1)) ? head.slice(0, -1) : head;
}

function cutTail(text: string, units: number): string {
  if (text.length <= units) return text;
  if (units <= 0) return '';
  const tail = text.slice(-units);
  return isLowSurrogate(tail.charCodeAt(0)) ? tail.slice(1) : tail;
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLowSurrogate = (code: number) => code >= 0xdc00 && code <= 0xdfff;
