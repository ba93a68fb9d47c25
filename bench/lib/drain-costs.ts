// What a drain costs per job: CPU of the process that runs the engine or the worker, CPU of
// PostgreSQL (embedded only), and WAL bytes.
import { CpuMeter, selfCpuMs } from './cpu.ts';
import type { ScenarioContext } from './scenario.ts';
import { describeStatements } from './statement-costs.ts';

export interface DrainCosts {
  /** CPU milliseconds per job of this process, where the engine or the worker runs. */
  workerCpu?: number;
  /** CPU milliseconds per job of PostgreSQL (embedded only). */
  postgresCpu?: number;
  /** WAL bytes per job: every heap tuple and index entry written, as PostgreSQL logs it. */
  walBytes: number;
}

/**
 * Starts counting what a drain costs; the returned function stops and divides by `jobs`. With
 * `--statements`, it also logs the drain's statements, per job, under `label`.
 */
export async function startDrainCosts(ctx: ScenarioContext, label = 'drain'): Promise<(jobs: number) => Promise<DrainCosts>> {
  const meter = new CpuMeter({ worker: selfCpuMs, postgres: () => ctx.pg.cpuMs() });
  const { statements } = ctx.pg;
  await statements?.reset();
  const walBefore = await ctx.pg.walBytes();
  meter.start();
  return async (jobs) => {
    const cpu = meter.stop();
    const wal = (await ctx.pg.walBytes()) - walBefore;
    if (statements) ctx.log(describeStatements(label, await statements.read(jobs)));
    return {
      workerCpu: cpu.worker === undefined ? undefined : cpu.worker / jobs,
      postgresCpu: cpu.postgres === undefined ? undefined : cpu.postgres / jobs,
      walBytes: wal / jobs,
    };
  };
}
