// The query values of an http agent's url: shown as markers, restored from the stored url.
import { describe, expect, it } from 'vitest';
import { REDACTED, redactAdapterConfig, redactUrl, restoreRedactedSecrets } from '../../../engine/adapters/redaction.ts';

const M = REDACTED;
const restore = (incoming: string, stored: string) => (restoreRedactedSecrets({ url: incoming }, { url: stored }) as { url: string }).url;

describe('url redaction', () => {
  it('replaces each non-empty query value and leaves the rest of the url as written', () => {
    expect(redactUrl('https://h.example/a/b')).toBe('https://h.example/a/b');
    expect(redactUrl('https://h.example/a?code=x%2By&flag&empty=#frag?x=1')).toBe(`https://h.example/a?code=${M}&flag&empty=#frag?x=1`);
    expect(redactAdapterConfig({ url: 'http://h/?t=1', timeoutSec: 3 })).toEqual({ url: `http://h/?t=${M}`, timeoutSec: 3 });
  });

  it('restores each marker from the same parameter of the stored url, nth for nth', () => {
    const stored = 'https://h.example/a?k=one&other=2&k=two';
    expect(restore(redactUrl(stored), stored)).toBe(stored);
    expect(restore(`https://h.example/b?k=${M}&k=${M}&other=3`, stored)).toBe('https://h.example/b?k=one&k=two&other=3');
    // A client that percent-encoded the marker, or named the parameter encoded.
    expect(restore(`https://h.example/a?%6B=${encodeURIComponent(M)}`, stored)).toBe('https://h.example/a?%6B=one');
  });

  it('refuses a marker the stored url has no value for', () => {
    expect(() => restore(`https://h/?k=${M}&k=${M}`, 'https://h/?k=one')).toThrow(/query parameter "k"/);
    expect(() => restore(`https://h/?k=${M}`, 'https://h/?k')).toThrow(/query parameter "k"/);
    expect(() => restoreRedactedSecrets({ url: `https://h/?k=${M}` }, null)).toThrow(/none is stored/);
  });
});
