// The text of the one system comment posted when stranded work is escalated to `blocked` (spec §6.14
// step 5, Decisions 2). Pure.
import { truncateText } from './bounding.ts';

/** §3: failure summaries are cut to 240 chars. */
const SUMMARY_MAX = 240;

// A JSON `"message": "<string>"` pair anywhere in the text: adapters often wrap an upstream JSON error
// in prose, or cut it off, so parsing the whole text as JSON would miss it.
const JSON_MESSAGE = /"message"\s*:\s*("(?:[^"\\\n]|\\.)*")/;

function jsonMessage(error: string): string | null {
  const match = JSON_MESSAGE.exec(error);
  if (!match) return null;
  try {
    const value: unknown = JSON.parse(match[1]);
    return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
  } catch {
    return null;
  }
}

/** A one-line reason for a run's failure: the JSON "message" inside `error`, else its first line. */
export function failureSummary(error: string | null): string | null {
  if (error === null) return null;
  const text = jsonMessage(error) ?? error.split(/\r?\n/).map((line) => line.trim()).find((line) => line !== '');
  return text ? truncateText(text, SUMMARY_MAX) : null;
}

/** " Latest retry failure: `<code>` - <summary>." and its code-only / summary-only forms; "" for neither. */
export function latestFailureLine(code: string | null, summary: string | null): string {
  const c = code?.trim() || null;
  const s = summary?.trim() || null;
  // A summary that already ends a sentence gets no second period.
  const end = s !== null && s.endsWith('.') ? '' : '.';
  if (c !== null && s !== null) return ` Latest retry failure: \`${c}\` - ${s}${end}`;
  if (c !== null) return ` Latest retry failure: \`${c}\`.`;
  if (s !== null) return ` Latest retry failure: ${s}${end}`;
  return '';
}

/** The comment that explains why Heartbeat gave up on an issue and moved it to `blocked`. */
export function escalationComment(input: {
  kind: 'dispatch' | 'continuation';
  during: 'reconciliation' | 'terminal_run_recovery';
  code: string | null;
  summary: string | null;
}): string {
  const when = input.during === 'terminal_run_recovery' ? ' during terminal run recovery' : '';
  return (
    `Heartbeat already retried ${input.kind} for this issue once and it still has no live execution path${when}, ` +
    'so it is moved to `blocked` for a person to look at.' +
    latestFailureLine(input.code, input.summary)
  );
}
