// What a scenario gets from the runner, and what it is.
import type { BenchPostgres } from './postgres.ts';
import type { Results } from './results.ts';

export interface ScenarioContext {
  pg: BenchPostgres;
  results: Results;
  /** Small sizes, one round: checks that everything still runs, measures nothing worth quoting. */
  quick: boolean;
  /** Rounds per system; medians are reported. */
  rounds: number;
  log(message: string): void;
}

export interface Scenario {
  name: string;
  run(ctx: ScenarioContext): Promise<void>;
}
