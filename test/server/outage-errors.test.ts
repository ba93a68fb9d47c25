// The pieces behind 503 SERVICE_UNAVAILABLE and the request bound, without a database: which
// failures mean "database unavailable", the HTTP status of a failed mutation, and what a request's
// deadline lets its work do once the time is up. (Against a real, stopped PostgreSQL:
// test/system/outage-responses.test.ts.)
import { createSchema, createYoga } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../engine/store/database-unavailable.ts';
import { badInput } from '../../engine/model/errors.ts';
import {
  assertStatementAllowed,
  boundedTransaction,
  currentRequestDeadline,
  RequestDeadline,
  RequestTimeoutError,
  runWithRequestDeadline,
} from '../../engine/store/request-deadline.ts';
import { maskError, useErrorCodes, useFailedMutationStatus } from '../../server/errors.ts';
import { useRequestDeadline } from '../../server/hardening.ts';
import { waitFor } from '../support/wait.ts';

const withCode = (code: string, message = code) => Object.assign(new Error(message), { code });

describe('isDatabaseUnavailable', () => {
  it('is true for a connection that could not be made or broke, and for a server not taking connections', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT', '57P01', '57P02', '57P03', '53300', '08000', '08003', '08006', '08001']) {
      expect(isDatabaseUnavailable(withCode(code)), code).toBe(true);
    }
  });

  it('finds the driver error inside the errors that wrap it', () => {
    const driver = withCode('57P03', 'the database system is starting up');
    expect(isDatabaseUnavailable(new Error('Failed query: select 1', { cause: driver }))).toBe(true);
    expect(isDatabaseUnavailable(Object.assign(new Error('located'), { originalError: new Error('wrapped', { cause: driver }) }))).toBe(true);
    expect(isDatabaseUnavailable(new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')], 'connect failed'))).toBe(true);
  });

  it('is false for failures where the database answered, deadlocks and serialization failures included', () => {
    for (const code of ['40P01', '40001', '23505', '22P02', '42P01', '57014', 'ENOENT']) {
      expect(isDatabaseUnavailable(withCode(code)), code).toBe(false);
    }
    expect(isDatabaseUnavailable(new Error('boom'))).toBe(false);
    expect(isDatabaseUnavailable(undefined)).toBe(false);
    expect(isDatabaseUnavailable('ECONNREFUSED')).toBe(false);
    const cyclic: { code?: string; cause?: unknown } = {};
    cyclic.cause = cyclic;
    expect(isDatabaseUnavailable(cyclic)).toBe(false);
  });
});

describe('the HTTP status of a failed operation', () => {
  const yoga = createYoga({
    schema: createSchema({
      typeDefs: `
        type Query { ok: Boolean, boom: Boolean, down: Boolean }
        type Mutation { ok: Boolean, boom: Boolean, refused: Boolean, down: Boolean, strict: Boolean! }`,
      resolvers: {
        Query: { ok: () => true, boom: () => Promise.reject(new Error('internal detail')), down: () => Promise.reject(withCode('ECONNREFUSED')) },
        Mutation: {
          ok: () => true,
          boom: () => Promise.reject(new Error('internal detail')),
          refused: () => Promise.reject(badInput('no such thing')),
          down: () => Promise.reject(new Error('Failed query', { cause: withCode('57P01') })),
          strict: () => null,
        },
      },
    }),
    maskedErrors: { maskError },
    logging: false,
    plugins: [useErrorCodes(), useFailedMutationStatus()],
  });
  const send = async (query: string) => {
    const response = await yoga.fetch('http://yoga/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query }),
    });
    const body = (await response.json()) as { data?: Record<string, unknown> | null; errors?: Array<{ message: string; extensions: Record<string, unknown> }> };
    return { status: response.status, retryAfter: response.headers.get('retry-after'), body };
  };

  it('a mutation that failed unexpectedly is 500, not 200', async () => {
    const { status, body } = await send('mutation { boom }');
    expect(status).toBe(500);
    expect(body.data).toEqual({ boom: null });
    expect(body.errors?.[0]).toMatchObject({ message: 'Unexpected error.', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(JSON.stringify(body)).not.toMatch(/internal detail|"http"|unexpected/);
    // A non-null field that resolved to null (a server bug) empties `data`: 500 too.
    expect((await send('mutation { strict }')).status).toBe(500);
    // Another field went through: the one that did not is still a failure of the server.
    expect((await send('mutation { ok boom }')).status).toBe(500);
  });

  it('a mutation or a query that met an unavailable database is 503 SERVICE_UNAVAILABLE with Retry-After', async () => {
    for (const query of ['mutation { down }', '{ down }', '{ ok down }']) {
      const { status, retryAfter, body } = await send(query);
      expect(status, query).toBe(503);
      expect(Number(retryAfter), query).toBeGreaterThanOrEqual(1);
      expect(body.errors?.[0].extensions.code, query).toBe('SERVICE_UNAVAILABLE');
      expect(JSON.stringify(body), query).not.toMatch(/"http"|57P01|ECONNREFUSED/);
    }
  });

  it('expected refusals of a mutation, and a query with partial data, stay 200 with the error', async () => {
    const refused = await send('mutation { refused }');
    expect(refused.status).toBe(200);
    expect(refused.body.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
    const partial = await send('{ ok boom }');
    expect(partial.status).toBe(200);
    expect(partial.body.data).toEqual({ ok: true, boom: null });
    expect((await send('mutation { ok }')).status).toBe(200);
  });
});

describe('a request deadline', () => {
  const never = () => new Promise<never>(() => {});

  it('answers with a RequestTimeoutError when the time is up, and from then on refuses to commit or write', async () => {
    const deadline = new RequestDeadline(30);
    expect(deadline.refusing).toBe(false); // not armed: no clock yet
    deadline.arm();
    const error = await deadline.race(never()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect((error as RequestTimeoutError).code).toBe('SERVICE_UNAVAILABLE');
    expect((error as Error).message).toMatch('did not answer within 30 ms; try again shortly');
    expect(deadline.isExpired).toBe(true);
    expect(() => deadline.beginCommit()).toThrow(RequestTimeoutError);
    await expect(deadline.race(Promise.resolve(1))).rejects.toBeInstanceOf(RequestTimeoutError);
    runWithRequestDeadline(deadline, () => {
      expect(currentRequestDeadline()).toBe(deadline);
      expect(() => assertStatementAllowed('insert into agents values (1)')).toThrow(RequestTimeoutError);
      expect(() => assertStatementAllowed('with x as (delete from agents) select 1')).toThrow(RequestTimeoutError);
      // Reads stay allowed: they may be shared with other requests (batched key checks).
      expect(() => assertStatementAllowed('select 1')).not.toThrow();
    });
    // Outside any request nothing is bounded.
    expect(currentRequestDeadline()).toBeUndefined();
    expect(() => assertStatementAllowed('insert into agents values (1)')).not.toThrow();
  });

  it('bounds nothing once released (answered in time)', async () => {
    const deadline = new RequestDeadline(20);
    const armedAt = performance.now();
    deadline.arm();
    await expect(deadline.race(Promise.resolve('answer'))).resolves.toBe('answer');
    deadline.release();
    runWithRequestDeadline(deadline, () => expect(currentRequestDeadline()).toBeUndefined());
    await waitFor('the time to pass', () => performance.now() - armedAt > 40);
    expect(deadline.refusing).toBe(false);
    expect(deadline.isExpired).toBe(false);
    expect(() => deadline.beginCommit().settle(true)).not.toThrow();
  });

  it('lets the work of a request that committed go on, and says so', async () => {
    const deadline = new RequestDeadline(30);
    deadline.arm();
    deadline.beginCommit().settle(true);
    const error = await deadline.race(never()).catch((e: unknown) => e as Error);
    expect(error.message).toMatch('part of this request was already carried out');
    expect(deadline.refusing).toBe(false);
    expect(() => deadline.beginCommit()).not.toThrow();
  });

  it('waits for a COMMIT in flight when the time is up, and answers as soon as it failed', async () => {
    const deadline = new RequestDeadline(30);
    deadline.arm();
    const commit = deadline.beginCommit();
    let answered: Error | undefined;
    void deadline.race(never()).catch((e: Error) => (answered = e));
    await waitFor('the time to be up', () => deadline.refusing);
    expect(answered).toBeUndefined(); // held for the commit in flight
    commit.settle(false);
    await waitFor('the answer', () => answered);
    expect(answered).toBeInstanceOf(RequestTimeoutError);
  });

  it('rolls back a transaction whose time ran out before COMMIT', async () => {
    const deadline = new RequestDeadline(30);
    deadline.arm();
    const log: string[] = [];
    // A driver's begin: BEGIN, the body, COMMIT if it resolved, ROLLBACK if it threw.
    const begin = async (body: (tx: string) => unknown) => {
      log.push('begin');
      try {
        const value = await body('tx');
        log.push('commit');
        return value;
      } catch (error) {
        log.push('rollback');
        throw error;
      }
    };
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const transaction = runWithRequestDeadline(deadline, () =>
      boundedTransaction(begin, async () => {
        await held;
        return 'written';
      }),
    );
    await waitFor('the time to be up', () => deadline.refusing);
    release();
    await expect(transaction).rejects.toBeInstanceOf(RequestTimeoutError);
    expect(log).toEqual(['begin', 'rollback']);
    // Not even begun once the time is up.
    await expect(runWithRequestDeadline(deadline, () => boundedTransaction(begin, async () => 'x'))).rejects.toBeInstanceOf(RequestTimeoutError);
    expect(log).toEqual(['begin', 'rollback']);
    // Outside a request: unbounded.
    await expect(boundedTransaction(begin, async () => 'free')).resolves.toBe('free');
  });

  it('over yoga: an execution that outlasts the bound is answered 503 at the bound, and one in time is not bounded afterwards', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let seen: RequestDeadline | undefined;
    const yoga = createYoga({
      schema: createSchema({
        typeDefs: 'type Query { slow: Boolean, quick: Boolean }',
        resolvers: {
          Query: {
            slow: async () => {
              await held;
              return true;
            },
            quick: () => {
              seen = currentRequestDeadline();
              return true;
            },
          },
        },
      }),
      maskedErrors: { maskError },
      logging: false,
      plugins: [useErrorCodes(), useRequestDeadline({ timeoutMs: 50 })],
    });
    const send = (query: string) =>
      yoga.fetch('http://yoga/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
    const slow = await send('{ slow }');
    expect(slow.status).toBe(503);
    expect(slow.headers.get('retry-after')).toBe('2');
    expect(((await slow.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0].extensions.code).toBe('SERVICE_UNAVAILABLE');
    release();
    const quick = await send('{ quick }');
    expect(quick.status).toBe(200);
    expect(seen).toBeInstanceOf(RequestDeadline);
    expect(seen!.isReleased).toBe(true);
  });
});

