// What the output fixtures print (test/fixtures/agents/chatty-agent.mjs, ticker-agent.mjs), and the
// tail of a text as the server cuts it, for tests that compare logs exactly.

/** What chatty-agent prints for `lines`: both streams in the order written, or one of them. */
export function chattyLog(lines: number, stream: 'stdout' | 'stderr' | null = null): string {
  let text = '';
  for (let i = 0; i < lines; i++) {
    if (stream !== 'stderr') text += `out ${i} é ${'x'.repeat(i % 50)}\n`;
    if (stream !== 'stdout' && i % 10 === 0) text += `err ${i} ü\n`;
  }
  return text;
}

/** What ticker-agent prints, lines `from` to `to` (exclusive). */
export const ticks = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `tick ${from + i} ✓\n`).join('');

/** The text of the last `bytes` bytes of `text`, from the next character when that cuts one (as the server does). */
export function lastBytes(text: string, bytes: number): string {
  const buffer = Buffer.from(text);
  let start = Math.max(0, buffer.length - bytes);
  while (start < buffer.length && (buffer[start] & 0xc0) === 0x80) start++;
  return buffer.subarray(start).toString('utf8');
}
