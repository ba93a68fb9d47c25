// How failures reach clients. Expected failures keep their message and get a stable
// `extensions.code`; everything else becomes "Unexpected error." with code INTERNAL_SERVER_ERROR
// and is logged with its stack server-side only.
import { PothosValidationError } from '@pothos/core';
import { GraphQLError } from 'graphql';
import { maskError as yogaMaskError, type Plugin } from 'graphql-yoga';
import { HeartbeatError } from '../engine/errors.ts';

const httpStatusOf: Record<string, number> = { UNAUTHENTICATED: 401, FORBIDDEN: 403 };

export function toGraphQLError(error: HeartbeatError, source?: GraphQLError): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: source?.nodes,
    path: source?.path,
    extensions: {
      ...error.details,
      code: error.code,
      ...(httpStatusOf[error.code] ? { http: { status: httpStatusOf[error.code] } } : {}),
    },
  });
}

/** Failures raised on purpose (bad input, not found, ...): reported to the client, not logged as errors. */
export function isExpectedError(error: unknown): boolean {
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  return original instanceof HeartbeatError || original instanceof PothosValidationError;
}

/** yoga's maskError hook. yoga itself logs every error this replaces (see the server logger). */
export function maskError(error: unknown, message: string, isDev?: boolean): Error {
  const source = error instanceof GraphQLError ? error : undefined;
  const original = source?.originalError ?? error;
  if (original instanceof HeartbeatError) return toGraphQLError(original, source);
  if (original instanceof PothosValidationError) {
    return new GraphQLError(original.message, {
      nodes: source?.nodes,
      path: source?.path,
      extensions: { code: 'BAD_USER_INPUT' },
    });
  }
  return yogaMaskError(error, message, isDev);
}

/** Codes for the errors graphql-js and yoga raise without one, so every error carries a code. */
function codeFor(error: GraphQLError): string {
  if (error.message.startsWith('Syntax Error')) return 'GRAPHQL_PARSE_FAILED';
  const status = (error.extensions?.http as { status?: number } | undefined)?.status;
  if (status === 401) return 'UNAUTHENTICATED';
  if (status === 403) return 'FORBIDDEN';
  if (status === 405) return 'METHOD_NOT_ALLOWED';
  if (status !== undefined && status >= 500) return 'INTERNAL_SERVER_ERROR';
  if (status !== undefined && status >= 400) return 'BAD_REQUEST';
  return error.path ? 'INTERNAL_SERVER_ERROR' : 'GRAPHQL_VALIDATION_FAILED';
}

/** Codes yoga and its executor raise that mean what a documented code says (README, Errors). */
const DOCUMENTED_CODE: Record<string, string> = {
  // No operation, an unknown operationName, or several without one: over WebSocket already BAD_REQUEST.
  OPERATION_RESOLUTION_FAILURE: 'BAD_REQUEST',
  // yoga's multipart parser over its size limit; the HTTP server says PAYLOAD_TOO_LARGE for the same.
  REQUEST_ENTITY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
};

/** Gives an error its `extensions.code` (in place) and drops yoga's raw parser error from it. */
export function assignErrorCode(error: GraphQLError): GraphQLError {
  const extensions = error.extensions as Record<string, unknown>;
  // yoga attaches the raw parser error to body errors; it is noise at best.
  delete extensions.originalError;
  const code = extensions.code;
  extensions.code = typeof code === 'string' ? (DOCUMENTED_CODE[code] ?? code) : (code ?? codeFor(error));
  return error;
}

export function useErrorCodes(): Plugin {
  return {
    onResultProcess({ result }) {
      for (const single of Array.isArray(result) ? result : [result]) {
        const errors = (single as { errors?: readonly GraphQLError[] }).errors;
        for (const error of errors ?? []) {
          if (error instanceof GraphQLError) assignErrorCode(error);
        }
      }
    },
  };
}
