// Splitting an agent's output into lines (process and http adapters alike): UTF-8 safe across chunks,
// bounded per line, and a scan that recognises a result line too long to hold whole.
import { StringDecoder } from 'node:string_decoder';

/** Longest line held whole (chars): room for any event or result, and a bound on what one run holds. */
export const MAX_LINE_CHARS = 4 * 1024 * 1024;

const stripCr = (line: string) => (line.endsWith('\r') ? line.slice(0, -1) : line);

/**
 * Splits a byte stream into lines. UTF-8 safe across chunk boundaries; strips a trailing `\r`.
 * A line longer than `maxLineChars` comes out in pieces of about that size (each logged as a line):
 * holding it whole would let one child grow the server without bound. Such a line that was a result
 * line (see ResultLineScan) is reported to `onOverLongResult` when it ends, before the push() or end()
 * that returns its last piece returns: a result line after it in the same stream still comes later.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  /** The unfinished line in pieces, joined once it ends: a long line costs linear, not quadratic, time. */
  private pending: string[] = [];
  private pendingChars = 0;
  /** Set while the current line is over the limit: what its text says about being a result line. */
  private overLong: ResultLineScan | undefined;

  constructor(
    private readonly maxLineChars = MAX_LINE_CHARS,
    private readonly onOverLongResult?: () => void,
  ) {}

  /** Returns the lines completed by this chunk. */
  push(chunk: Uint8Array | string): string[] {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(Buffer.from(chunk));
    const lines: string[] = [];
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      this.pending.push(text.slice(start, end));
      lines.push(stripCr(this.take(true)));
      start = end + 1;
    }
    if (start < text.length) {
      this.pending.push(text.slice(start));
      this.pendingChars += text.length - start;
      if (this.pendingChars > this.maxLineChars) {
        this.overLong ??= new ResultLineScan();
        lines.push(this.take(false));
      }
    }
    return lines;
  }

  /** The final line when the stream ended without a newline (none if it was empty). */
  end(): string[] {
    this.pending.push(this.decoder.end());
    const rest = this.take(true);
    return rest === '' ? [] : [stripCr(rest)];
  }

  /** The pending text; `lineEnds`: it is the rest of its line. */
  private take(lineEnds: boolean): string {
    const line = this.pending.join('');
    this.pending = [];
    this.pendingChars = 0;
    if (this.overLong) {
      this.overLong.push(line);
      if (lineEnds) {
        if (this.overLong.isResult()) this.onOverLongResult?.();
        this.overLong = undefined;
      }
    }
    return line;
  }
}

/** Where a JSON string's run of plain characters ends. */
const STRING_SPECIAL = /["\\]/g;

/**
 * Reads a line piece by piece, holding none of it, to tell whether it is a result line as classifyLine
 * would see it if it could hold it whole: a JSON object (after leading whitespace) with a top-level
 * `result` key, and no top-level `type` other than "result". It follows strings, nesting and the
 * top-level keys and values; it does not check the rest of the JSON grammar, so a result line cut off
 * or malformed further on still counts: it was meant as the result, and the run is told it was too big
 * rather than that it was malformed.
 */
export class ResultLineScan {
  private phase: 'start' | 'object' | 'after' | 'no' = 'start';
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** The next string at depth 1 is a key (after `{` or `,`), else a value (after `:`). */
  private expectKey = false;
  /** Raw text of the depth-1 string being read, while short enough to be a key we care about. */
  private capture: string | null = null;
  private captureIsKey = false;
  private key: string | undefined;
  private hasResult = false;
  /** The top-level `type` when it is a string (classifyLine ignores any other). */
  private type: string | undefined;

  push(text: string): void {
    for (let i = 0; i < text.length && this.phase !== 'no'; i++) {
      const c = text[i];
      if (this.phase === 'start' || this.phase === 'after') {
        if (/\s/.test(c)) continue;
        if (this.phase === 'start' && c === '{') {
          this.phase = 'object';
          this.depth = 1;
          this.expectKey = true;
        } else this.phase = 'no'; // not an object, or something after it: JSON.parse refuses the line
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') {
          this.inString = false;
          this.endString();
          continue;
        } else if (this.capture === null) {
          // Not a string we look into: skip to its next quote or backslash.
          STRING_SPECIAL.lastIndex = i + 1;
          const next = STRING_SPECIAL.exec(text);
          i = next === null ? text.length : next.index - 1;
          continue;
        }
        if (this.capture !== null) this.capture = this.capture.length < 64 ? this.capture + c : null;
        continue;
      }
      switch (c) {
        case '"':
          this.inString = true;
          this.capture = this.depth === 1 ? '' : null;
          this.captureIsKey = this.depth === 1 && this.expectKey;
          break;
        case '{':
        case '[':
          this.depth += 1;
          break;
        case '}':
        case ']':
          this.depth -= 1;
          if (this.depth === 0) this.phase = 'after';
          break;
        case ',':
          if (this.depth === 1) this.expectKey = true;
          break;
        case ':':
          if (this.depth === 1) {
            this.expectKey = false;
            // A later duplicate wins in JSON.parse: a non-string `type` resets an earlier one.
            if (this.key === 'type') this.type = undefined;
          }
          break;
      }
    }
  }

  private endString(): void {
    if (this.depth !== 1) return;
    let value: string | undefined;
    if (this.capture !== null) {
      try {
        value = JSON.parse(`"${this.capture}"`) as string;
      } catch {
        value = undefined;
      }
    }
    this.capture = null;
    if (this.captureIsKey) {
      this.key = value;
      if (value === 'result') this.hasResult = true;
    } else if (this.key === 'type') this.type = value;
  }

  isResult(): boolean {
    return this.phase !== 'no' && this.phase !== 'start' && this.hasResult && (this.type === undefined || this.type === 'result');
  }
}
