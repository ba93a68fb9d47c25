// Instance leases (docs: README "Instances and leases"). Each engine instance keeps a row in
// `engine_instances` and renews its lease every beat. Another instance may take it for dead, and
// reap its runs, only when that is certain or when the lease lapsed while the database was
// reachable: an outage that nobody could renew through kills no one.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Database } from '../../db/client.ts';
import type { Clock } from '../model/clock.ts';
import { deregisterInstance, LEASE_BEAT_MS, LEASE_TTL_MS, nextLeaseLapse, registerInstance, renewInstanceLease } from './instances.ts';
import { pidAlive } from '../adapters/process-groups.ts';

/** While the database is away, renewal is tried this often, so the lease is renewed first when it returns. */
const RENEW_WHILE_AWAY_MS = 250;

/** Engines of this process that are running: another engine of this same process is alive while listed. */
const runningInThisProcess = new Set<string>();

export interface OwnerRow {
  id: string;
  host: string;
  pid: number;
  startedAt: Date;
  leaseExpiresAt: Date;
  stoppedAt: Date | null;
}

export type OwnerVerdict =
  | { dead: false }
  | { dead: true; why: 'no_owner' | 'instance_gone' | 'stopped' | 'process_exited' | 'lease_lapsed' };

export interface JudgeContext {
  now: Date;
  /** This instance's id: its own runs are never another's to reap. */
  self: string;
  host: string;
  pid: number;
  /** This instance renewed its own lease without a break for a full lease: lapsed leases mean something. */
  leasesTrusted: boolean;
  /** Instance ids of engines running in this process. */
  runningHere: ReadonlySet<string>;
  /** Whether process `pid` is alive and is the one that started no later than `startedAt` (not a reused pid). */
  processAlive(pid: number, startedAt: Date): boolean;
}

/**
 * Whether the instance that owns a run is dead (a pure rule). Certain when it stopped (or was
 * declared dead), when its row is gone, or when it ran on this host and its process is gone. A
 * process alive on this host is never dead, whatever its lease says. Otherwise, a lapsed lease
 * counts only when this instance has itself been renewing for a full lease: then the owner had
 * the same database for as long and did not renew.
 */
export function judgeOwner(ownerInstanceId: string | null, owner: OwnerRow | null, ctx: JudgeContext): OwnerVerdict {
  if (ownerInstanceId === null) return { dead: true, why: 'no_owner' };
  if (ownerInstanceId === ctx.self) return { dead: false };
  if (!owner) return { dead: true, why: 'instance_gone' };
  if (owner.stoppedAt) return { dead: true, why: 'stopped' };
  if (owner.host === ctx.host) {
    const alive = owner.pid === ctx.pid ? ctx.runningHere.has(owner.id) : ctx.processAlive(owner.pid, owner.startedAt);
    return alive ? { dead: false } : { dead: true, why: 'process_exited' };
  }
  if (owner.leaseExpiresAt.getTime() > ctx.now.getTime()) return { dead: false };
  return ctx.leasesTrusted ? { dead: true, why: 'lease_lapsed' } : { dead: false };
}

/** Seconds per clock tick of /proc's start times (USER_HZ, 100 on every Linux build). */
const USER_HZ = 100;
let bootTimeMs: number | null | undefined;

function bootTime(): number | null {
  if (bootTimeMs === undefined) {
    try {
      const line = readFileSync('/proc/stat', 'utf8').match(/^btime (\d+)$/m);
      bootTimeMs = line ? Number(line[1]) * 1000 : null;
    } catch {
      bootTimeMs = null;
    }
  }
  return bootTimeMs;
}

/** When process `pid` started (Linux /proc), or null where that cannot be read. */
export function processStartTime(pid: number): Date | null {
  const boot = bootTime();
  if (boot === null) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return new Date(boot + (Number(fields[19]) / USER_HZ) * 1000);
  } catch {
    return null;
  }
}

/**
 * Alive, and the same process: one that started after the instance registered (plus a margin for
 * the two clocks' resolution) has only reused its pid.
 */
export function instanceProcessAlive(pid: number, startedAt: Date): boolean {
  if (!pidAlive(pid)) return false;
  const started = processStartTime(pid);
  return started === null || started.getTime() <= startedAt.getTime() + 2_000;
}

export interface InstanceLeaseOptions {
  /** A connection of its own, so a renewal never queues behind the engine's work. */
  db: Database;
  clock: Clock;
  logger: Logger;
  /** This host's name in the lease; the OS hostname by default. */
  host?: string;
  version?: string;
  /** Another instance declared this one dead and reaped its runs: stop executing them. */
  onTakenOver(): Promise<void>;
  /** The instance id changed (first registration, or anew after being declared dead). */
  onRegistered?(id: string): void;
  /** After each renewal: when the next lease of another instance lapses, if it does not renew. */
  onNextLapse?(at: Date): void;
}

/** This instance's lease: registration, renewal, and whether others' lapsed leases can be trusted. */
export class InstanceLease {
  id = '';
  readonly host: string;
  /** When renewals started succeeding without a break (clock ms); null while the database is away. */
  private healthySince: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly options: InstanceLeaseOptions) {
    this.host = options.host ?? hostname();
  }

  async register(): Promise<string> {
    const { id } = await registerInstance(this.options.db, this.options.clock, { host: this.host, version: this.options.version });
    if (this.id) runningInThisProcess.delete(this.id);
    this.id = id;
    runningInThisProcess.add(id);
    this.healthySince = this.options.clock.now().getTime();
    this.options.onRegistered?.(id);
    return id;
  }

  /** Starts the renewal loop. */
  start(): void {
    this.schedule(LEASE_BEAT_MS);
  }

  /** The other instances' lapsed leases mean they stopped renewing while the database was reachable. */
  leasesTrusted(now = this.options.clock.now()): boolean {
    return this.healthySince !== null && now.getTime() - this.healthySince >= LEASE_TTL_MS;
  }

  /** `self`: the instance id the engine works as (tests may set one without starting the lease). */
  judge(ownerInstanceId: string | null, owner: OwnerRow | null, self = this.id): OwnerVerdict {
    const now = this.options.clock.now();
    return judgeOwner(ownerInstanceId, owner, {
      now,
      self,
      host: this.host,
      pid: process.pid,
      leasesTrusted: this.leasesTrusted(now),
      runningHere: runningInThisProcess,
      processAlive: instanceProcessAlive,
    });
  }

  /** One renewal; false when the lease could not be renewed (database away) or was taken over. */
  async renew(): Promise<boolean> {
    const { db, clock, logger } = this.options;
    const now = clock.now();
    let renewed: boolean;
    try {
      renewed = await withTimeout(renewInstanceLease(db, clock, this.id), LEASE_BEAT_MS);
    } catch (error) {
      if (this.healthySince !== null) {
        logger.warn({ err: error, instanceId: this.id }, 'lease renewal failed: the database is unreachable; no instance is taken for dead until a full lease after it returns');
      }
      this.healthySince = null;
      return false;
    }
    if (!renewed) {
      logger.error({ instanceId: this.id }, 'this instance was declared dead by another one, which reaped its runs: stopping them and registering anew');
      await this.options.onTakenOver();
      const previous = this.id;
      await this.register();
      logger.warn({ previousInstanceId: previous, instanceId: this.id }, 'registered anew after being declared dead');
      return false;
    }
    if (this.healthySince === null) {
      this.healthySince = now.getTime();
      logger.info({ instanceId: this.id }, 'database reachable again: lease renewed; other instances are judged again after a full lease');
    }
    if (this.options.onNextLapse) {
      const next = await nextLeaseLapse(db, this.id).catch(() => null);
      if (next && !Number.isNaN(next.getTime())) this.options.onNextLapse(next);
    }
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    runningInThisProcess.delete(this.id);
    if (this.id) await deregisterInstance(this.options.db, this.options.clock, this.id);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.renew().then(
        (ok) => this.schedule(ok ? LEASE_BEAT_MS : RENEW_WHILE_AWAY_MS),
        (error: unknown) => {
          this.options.logger.error({ err: error }, 'lease renewal failed');
          this.schedule(RENEW_WHILE_AWAY_MS);
        },
      );
    }, ms);
  }
}

/** Rejects when `work` has not settled within `ms` (a renewal held by a dead connection counts as failed). */
function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    work.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms))),
  ]);
}
