// The tabs GraphiQL opens with on a browser's first visit: operations that run as they are, in
// order, once a key is entered (Wake wakes the agent CreateAgent made, by its name).

export interface ExampleTab {
  query: string;
  variables?: string;
}

const json = (value: unknown) => JSON.stringify(value, null, 2);

const OVERVIEW_EXAMPLE: ExampleTab = {
  query: `# Welcome to Heartbeat. Put your API key in the field
# above, once: every tab and every subscription uses it.
# Then run this (Ctrl-Enter, or the run button). The Docs
# (the book icon, left) list every field, key or not.
query Overview {
  viewer { id name }
  viewerRole
  agents(first: 10) { edges { node { id name status } } }
  runs(first: 10) { edges { node { id status createdAt agent { name } } } }
}
`,
};

const CREATE_AGENT_EXAMPLE_NAME = 'first-agent';

const CREATE_AGENT_EXAMPLE: ExampleTab = {
  query: `# Creates a SCRIPT agent: deterministic steps, no
# process, to try things out. Names are unique in a company:
# change the name to create another (and in the Wake tab).
mutation CreateAgent($name: String!, $adapterConfig: JSON!) {
  createAgent(input: { name: $name, adapterType: SCRIPT, adapterConfig: $adapterConfig }) {
    id
    name
  }
}
`,
  variables: json({
    name: CREATE_AGENT_EXAMPLE_NAME,
    adapterConfig: { steps: [{ log: 'hello' }, { sleepMs: 1000 }, { result: { ok: true }, summary: 'done' }] },
  }),
};

const WAKE_EXAMPLE: ExampleTab = {
  query: `# Wakes an agent by its name (the one the CreateAgent
# tab made; or pass agentId): its run starts at once.
# Watch it in the RunStatus tab, or read it back here.
mutation Wake($agent: String!, $reason: String) {
  enqueueWakeup(input: { agentName: $agent, reason: $reason }) {
    outcome
    run { id status }
  }
}
`,
  variables: json({ agent: CREATE_AGENT_EXAMPLE_NAME, reason: 'manual' }),
};

const RUN_STATUS_EXAMPLE: ExampleTab = {
  query: `# Every change of your company's runs, live over
# WebSocket (with the same key). Start it, then wake an
# agent (the Wake tab, the console or the CLI).
subscription RunStatus {
  runStatus { id status agent { name } liveness { state } }
}
`,
};

export const EXAMPLE_TABS: ExampleTab[] = [OVERVIEW_EXAMPLE, CREATE_AGENT_EXAMPLE, WAKE_EXAMPLE, RUN_STATUS_EXAMPLE];
