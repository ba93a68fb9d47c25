// Relay global ids: base64("Type:uuid"). Decoding validates the shape up front so a malformed id is
// a clear BAD_USER_INPUT error instead of a database error on a bad uuid.
import { badInput } from '../engine/index.ts';
import { isUuid } from '../db/columns.ts';


export function encodeGlobalId(typename: string, id: string | number | bigint): string {
  return Buffer.from(`${typename}:${id}`, 'utf8').toString('base64');
}

export function decodeGlobalId(globalId: string): { typename: string; id: string } {
  const decoded = /^[A-Za-z0-9+/]+={0,2}$/.test(globalId)
    ? Buffer.from(globalId, 'base64').toString('utf8')
    : '';
  const separator = decoded.indexOf(':');
  const typename = decoded.slice(0, separator);
  const id = decoded.slice(separator + 1);
  if (separator <= 0 || !/^[A-Za-z_]\w*$/.test(typename) || !isUuid(id)) {
    throw badInput(`Invalid ID: ${JSON.stringify(globalId.slice(0, 100))}`, { argument: 'id' });
  }
  return { typename, id: id.toLowerCase() };
}
