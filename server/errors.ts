// How failures reach clients. Expected failures keep their message and get a stable
// `extensions.code`; everything else becomes "Unexpected error." with code INTERNAL_SERVER_ERROR
// and is logged with its stack server-side only.
import { PothosValidationError } from '@pothos/core';
import { type ExecutionResult, getOperationAST, GraphQLError } from 'graphql';
import { maskError as yogaMaskError, type Plugin } from 'graphql-yoga';
import { isDatabaseUnavailable } from '../engine/index.ts';
import { HeartbeatError } from '../engine/index.ts';

/** Seconds a client is told to wait (Retry-After) before sending again what met an unavailable database. */
export const SERVICE_UNAVAILABLE_RETRY_AFTER_SEC = 2;

const httpOf: Record<string, { status: number; headers?: Record<string, string> }> = {
  UNAUTHENTICATED: { status: 401 },
  FORBIDDEN: { status: 403 },
  SERVICE_UNAVAILABLE: { status: 503, headers: { 'retry-after': String(SERVICE_UNAVAILABLE_RETRY_AFTER_SEC) } },
};

export function toGraphQLError(error: HeartbeatError, source?: GraphQLError): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: source?.nodes,
    path: source?.path,
    extensions: {
      ...error.details,
      code: error.code,
      ...(httpOf[error.code] ? { http: { ...httpOf[error.code] } } : {}),
    },
  });
}

/** What a client is told when the database cannot be reached: 503 SERVICE_UNAVAILABLE, Retry-After. */
export const databaseUnavailable = () => new HeartbeatError('SERVICE_UNAVAILABLE', 'The database is unavailable; try again shortly.');

/** Failures of the database connection (engine/store/database-unavailable.ts), however they were wrapped. */
export function isUnavailableError(error: unknown): boolean {
  const original = error instanceof GraphQLError ? (error.originalError ?? error) : error;
  return isDatabaseUnavailable(original);
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
  // The database could not be reached: the same request may succeed shortly (HTTP 503, Retry-After).
  if (isDatabaseUnavailable(original)) return toGraphQLError(databaseUnavailable(), source);
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

const httpStatusOfError = (error: GraphQLError) => (error.extensions?.http as { status?: number } | undefined)?.status;

/**
 * A mutation field that failed unexpectedly was not carried out: the answer is HTTP 500, not 200.
 * yoga answers 200 whenever the result has a `data` entry (GraphQL over HTTP's "partial response"),
 * and a mutation's result has one even when every field failed (`{"createAgent": null}`). Here, when
 * a root field of a mutation is null and an INTERNAL_SERVER_ERROR is reported at it (or at a field
 * under it), that error gets status 500. An error that has its own status keeps it (and yoga uses
 * the highest): SERVICE_UNAVAILABLE 503, RATE_LIMITED 429, UNAUTHENTICATED 401, FORBIDDEN 403.
 * Expected refusals (BAD_USER_INPUT, NOT_FOUND, CONFLICT) stay 200 with the error, and so do queries
 * (partial data is normal there); over WebSocket there is no status to set.
 */
export function useFailedMutationStatus(): Plugin {
  const mutations = new WeakSet<object>();
  return {
    onExecute({ args }) {
      const request = (args.contextValue as { request?: object }).request;
      if (request && getOperationAST(args.document, args.operationName)?.operation === 'mutation') mutations.add(request);
    },
    onResultProcess({ request, result }) {
      if (Array.isArray(result) || !mutations.has(request)) return;
      const { data, errors } = result as ExecutionResult;
      if (!errors?.length || errors.some((error) => error instanceof GraphQLError && httpStatusOfError(error) !== undefined)) return;
      const failedField = (error: GraphQLError) => {
        const root = error.path?.[0];
        return typeof root === 'string' && (data === null || data === undefined || data[root] === null);
      };
      const unexpected = errors.find(
        (error): error is GraphQLError => error instanceof GraphQLError && error.extensions?.code === 'INTERNAL_SERVER_ERROR' && failedField(error),
      );
      if (unexpected) (unexpected.extensions as Record<string, unknown>).http = { status: 500 };
    },
  };
}
