// What a run search means: an operator pastes an id (whole, or the short id the console and CLI show,
// the first characters of the run's uuid) or types a few words of its summary or error. The search
// text is read here, once, into one of three matches; the API turns the match into its filter.
import { isUuid } from '../../db/columns.ts';
import { badInput } from '../model/errors.ts';

/** Longest search text accepted (after trimming): it is an id or a few words, not a document. */
export const RUN_SEARCH_MAX_CHARS = 200;
/** Shortest uuid prefix read as an id: fewer hex digits would match a sixteenth of all runs and more. */
export const RUN_ID_PREFIX_MIN_HEX = 4;

export type RunSearch =
  /** The run with this uuid. */
  | { kind: 'id'; id: string }
  /**
   * The runs whose uuid starts with the given hex digits, as the closed range of uuids between the
   * prefix padded with zeros and the prefix padded with f's: PostgreSQL orders uuids by their bytes,
   * the order of their hex text, so the range is exactly the prefix and an index scan of the
   * primary key finds it (a `id::text like 'abcd%'` could use no index).
   */
  | { kind: 'idPrefix'; from: string; to: string }
  /** A case-insensitive LIKE pattern matching the text anywhere (its %, _ and \ escaped). */
  | { kind: 'text'; pattern: string };

const CANONICAL = 'xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx';
const HEX = /^[0-9a-f]$/;

/** The hex digits of a uuid prefix, as typed with the uuid's dashes or without any; null if it is not one. */
function uuidPrefixDigits(text: string): string | null {
  const lower = text.toLowerCase();
  if (/^[0-9a-f]+$/.test(lower)) return lower.length <= 32 ? lower : null;
  if (lower.length > CANONICAL.length) return null;
  for (let i = 0; i < lower.length; i++) {
    const fits = CANONICAL[i] === '-' ? lower[i] === '-' : HEX.test(lower[i]);
    if (!fits) return null;
  }
  return lower.replaceAll('-', '');
}

const asUuid = (hex: string) => `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;

/**
 * Reads a search (a run's global id already decoded to its uuid by the caller): a uuid, then a
 * uuid prefix of at least RUN_ID_PREFIX_MIN_HEX hex digits, else text. Empty (after trimming) or
 * longer than RUN_SEARCH_MAX_CHARS is BAD_USER_INPUT.
 */
export function parseRunSearch(search: string): RunSearch {
  const text = search.trim();
  if (text === '') throw badInput('search must not be empty', { argument: 'search' });
  if (text.length > RUN_SEARCH_MAX_CHARS) throw badInput(`search must be at most ${RUN_SEARCH_MAX_CHARS} characters, got ${text.length}`, { argument: 'search' });
  if (isUuid(text)) return { kind: 'id', id: text.toLowerCase() };
  const digits = uuidPrefixDigits(text);
  if (digits !== null && digits.length >= RUN_ID_PREFIX_MIN_HEX) {
    if (digits.length === 32) return { kind: 'id', id: asUuid(digits) };
    return { kind: 'idPrefix', from: asUuid(digits.padEnd(32, '0')), to: asUuid(digits.padEnd(32, 'f')) };
  }
  return { kind: 'text', pattern: `%${text.replace(/[\\%_]/g, '\\$&')}%` };
}
