// The agents an issue may be assigned to, for the assignee pickers of the issues pages: every agent of
// the company, page by page, read when a picker appears.
import { useConsole } from '../console-context.ts';
import { AssignableAgentsQuery } from './issues-operations.ts';
import { query, useLoad, type Loaded } from './page-data.ts';

export type AgentOption = { id: string; name: string; status: string };

export function useAgentOptions(): Loaded<AgentOption[]> {
  const { client } = useConsole();
  return useLoad('assignable-agents', async () => {
    const agents: AgentOption[] = [];
    let after: string | null | undefined;
    do {
      const page = (await query(client, AssignableAgentsQuery, { after })).agents;
      agents.push(...page.edges.map((edge) => edge.node));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after);
    return agents.sort((a, b) => a.name.localeCompare(b.name));
  });
}
