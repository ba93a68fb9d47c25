// What runs cost (docs/engine.md §13): one run's cost event, and the totals of many. Apart from the
// cost queries (costs.ts) so that Agent, Issue and Project can use these types without a cycle.
import type { CostTotals } from '../engine/index.ts';
import { builder } from './builder.ts';
import { BillingTypeEnum } from './enums.ts';

const CENTS_LIMIT = 'An Int: sums above 2,147,483,647 cents ($21.4M) cannot be represented.';
// Summed token counts pass 2^31 early (cached input alone: about $650 of cache reads), so they are
// Floats, like AgentRuntimeState.totalInputTokens; a Float holds whole numbers exactly up to 2^53.
const SUMMED_TOKENS = 'A Float holding a whole number: sums of tokens outgrow a 32-bit Int.';

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

/** The sums every cost read answers: CostTotals, and each CostBucket (costs.ts). */
export function costTotalFields<Shape extends CostTotals>(t: PothosSchemaTypes.ObjectFieldBuilder<Types, Shape>) {
  return {
    costCents: t.int({ description: `Billed cents. ${CENTS_LIMIT}`, resolve: (sums) => sums.costCents }),
    costUsd: t.float({ description: 'The reported cost in US dollars (a run that reported none counts 0).', resolve: (sums) => sums.costUsd }),
    inputTokens: t.float({ description: SUMMED_TOKENS, resolve: (sums) => sums.inputTokens }),
    cachedInputTokens: t.float({ description: SUMMED_TOKENS, resolve: (sums) => sums.cachedInputTokens }),
    outputTokens: t.float({ description: SUMMED_TOKENS, resolve: (sums) => sums.outputTokens }),
    runs: t.int({ description: 'Runs that used tokens or cost money.', resolve: (sums) => sums.runs }),
  };
}

export const CostTotalsRef = builder.objectRef<CostTotals>('CostTotals').implement({
  description: 'The sums of cost events: one per run that used tokens or cost money.',
  fields: (t) => costTotalFields(t),
});

export const RunCostRef = builder.drizzleObject('costEvents', {
  name: 'RunCost',
  description: "A run's entry in the cost ledger, written when it finished: its tokens, what it cost and how that is billed.",
  fields: (t) => ({
    costCents: t.exposeInt('costCents', { description: 'Billed cents: round(costUsd × 100); 0 for SUBSCRIPTION_INCLUDED.' }),
    costUsd: t.exposeFloat('costUsd', { nullable: true, description: 'The cost the agent reported; null when it reported none.' }),
    inputTokens: t.exposeInt('inputTokens'),
    cachedInputTokens: t.exposeInt('cachedInputTokens'),
    outputTokens: t.exposeInt('outputTokens'),
    billingType: t.expose('billingType', { type: BillingTypeEnum }),
    provider: t.exposeString('provider', { nullable: true, description: 'e.g. anthropic, openai.' }),
    biller: t.exposeString('biller', { description: 'Who bills it: the reported biller, else the provider, else `unknown`.' }),
    model: t.exposeString('model', { nullable: true }),
  }),
});
