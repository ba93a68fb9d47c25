// The agent form, for a new agent (createAgent) and for changing one (updateAgent): name, role,
// adapter type, its adapterConfig (see agent-config-editor.tsx) and the heartbeat policy. What the
// API refuses is shown at the top of the form and next to the field it names; nothing is stored then.
import { useState } from 'preact/hooks';
import type { AdapterType } from '../../generated/graphql.ts';
import { useConsole } from '../console-context.ts';
import type { JsonSchema } from './agent-config-schema.ts';
import { configFieldOfPath } from './agent-config-schema.ts';
import { AgentConfigEditor, type Config } from './agent-config-editor.tsx';
import { CreateAgentMutation, UpdateAgentMutation } from './agents-operations.ts';
import { apiError, mutate } from './page-data.ts';

export interface AdapterTypeInfo {
  type: AdapterType;
  description: string;
  configSchema: unknown;
}

/** Every adapter type, for when the server does not describe them (no schemas then: the config is JSON). */
const KNOWN_ADAPTER_TYPES: AdapterType[] = ['PROCESS', 'HTTP', 'SCRIPT', 'CLAUDE_CODE', 'CODEX'];

export interface AgentFormValues {
  name: string;
  role: string;
  adapterType: AdapterType;
  adapterConfig: Config;
  heartbeat: { enabled: boolean; intervalSec: number; maxConcurrentRuns: number; wakeOnDemand: boolean; silenceTimeoutSec: number };
}

export const NEW_AGENT: AgentFormValues = {
  name: '',
  role: '',
  adapterType: 'PROCESS',
  adapterConfig: {},
  heartbeat: { enabled: false, intervalSec: 0, maxConcurrentRuns: 1, wakeOnDemand: true, silenceTimeoutSec: 0 },
};

interface AgentFormProps {
  /** The agent being changed; absent for a new agent. */
  agentId?: string;
  initial: AgentFormValues;
  adapterTypes: AdapterTypeInfo[] | null;
  onSaved: (agent: { id: string; name: string }) => void;
  onCancel?: () => void;
}

/** Where an API error belongs: a config field (by name, '' for the whole config) or a form field ('name', 'heartbeat.intervalSec', ...). */
function errorsByField(details: Record<string, unknown>): { config: Record<string, string>; form: Record<string, string> } {
  const config: Record<string, string> = {};
  const form: Record<string, string> = {};
  const place = (path: string, message: string) => {
    const field = configFieldOfPath(path);
    if (field) config[field] ??= message;
    else if (path === 'adapterConfig') config[''] ??= message;
    else form[path] ??= message;
  };
  const issues = Array.isArray(details.issues) ? (details.issues as Array<{ path?: unknown; message?: unknown }>) : [];
  for (const issue of issues) if (typeof issue.path === 'string') place(issue.path, String(issue.message ?? 'Invalid'));
  if (typeof details.field === 'string' && !issues.length) place(details.field, 'See the error above');
  return { config, form };
}

export function AgentForm({ agentId, initial, adapterTypes, onSaved, onCancel }: AgentFormProps) {
  const { client } = useConsole();
  const [values, setValues] = useState(initial);
  const [configGeneration, setConfigGeneration] = useState(0);
  const [invalid, setInvalid] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [fieldErrors, setFieldErrors] = useState<{ config: Record<string, string>; form: Record<string, string> }>({ config: {}, form: {} });
  const [saving, setSaving] = useState(false);

  const types = adapterTypes ?? KNOWN_ADAPTER_TYPES.map((type) => ({ type, description: '', configSchema: null }));
  const adapter = types.find((info) => info.type === values.adapterType);
  const schema = (adapter?.configSchema ?? null) as JsonSchema | null;
  const set = <K extends keyof AgentFormValues>(key: K, value: AgentFormValues[K]) => setValues((current) => ({ ...current, [key]: value }));
  const setPolicy = (change: Partial<AgentFormValues['heartbeat']>) => setValues((current) => ({ ...current, heartbeat: { ...current.heartbeat, ...change } }));

  const chooseAdapter = (type: AdapterType) => {
    // Another adapter's settings mean nothing to this one: start its config afresh (the original one when going back).
    setValues((current) => ({ ...current, adapterType: type, adapterConfig: type === initial.adapterType ? initial.adapterConfig : {} }));
    setInvalid({});
    setFieldErrors({ config: {}, form: {} });
    setConfigGeneration((generation) => generation + 1);
  };

  const markInvalid = (field: string, message: string | null) =>
    setInvalid((current) => {
      if ((current[field] ?? null) === message) return current;
      const next = { ...current };
      if (message === null) delete next[field];
      else next[field] = message;
      return next;
    });

  const submit = async (event: Event) => {
    event.preventDefault();
    if (Object.keys(invalid).length) {
      setError('Some fields cannot be read: fix the ones marked in red.');
      return;
    }
    setSaving(true);
    setError(null);
    setFieldErrors({ config: {}, form: {} });
    const common = {
      name: values.name.trim(),
      role: values.role.trim() || undefined,
      adapterType: values.adapterType,
      adapterConfig: values.adapterConfig,
      heartbeat: values.heartbeat,
    };
    try {
      const saved = agentId
        ? (await mutate(client, UpdateAgentMutation, { input: { id: agentId, ...common } })).updateAgent
        : (await mutate(client, CreateAgentMutation, { input: common })).createAgent;
      onSaved(saved);
    } catch (caught) {
      const failure = apiError(caught);
      setError(failure.message);
      if (failure.code === 'BAD_USER_INPUT') setFieldErrors(errorsByField(failure.details));
    } finally {
      setSaving(false);
    }
  };

  const formError = (field: string) =>
    fieldErrors.form[field] && (
      <span class="field-error" data-testid={`agent-error-${field.replace('.', '-')}`}>
        {fieldErrors.form[field]}
      </span>
    );

  return (
    <form class="panel agent-form" data-testid="agent-form" onSubmit={submit} noValidate>
      <h2>{agentId ? `Edit ${initial.name}` : 'New agent'}</h2>
      {error && (
        <p class="form-error" role="alert" data-testid="agent-form-error">
          {error}
        </p>
      )}
      <div class="form-grid">
        <label class="field">
          <span class="field-label">Name<span class="required"> *</span></span>
          <input data-testid="agent-name" value={values.name} onInput={(event) => set('name', event.currentTarget.value)} />
          {formError('name')}
        </label>
        <label class="field">
          <span class="field-label">Role</span>
          <input data-testid="agent-role" placeholder="general" value={values.role} onInput={(event) => set('role', event.currentTarget.value)} />
          {formError('role')}
        </label>
        <label class="field">
          <span class="field-label">Adapter</span>
          <select data-testid="agent-adapter-type" value={values.adapterType} onChange={(event) => chooseAdapter(event.currentTarget.value as AdapterType)}>
            {types.map((info) => (
              <option key={info.type} value={info.type}>{info.type}</option>
            ))}
          </select>
          {adapter?.description && <span class="hint">{adapter.description}</span>}
          {formError('adapterType')}
        </label>
      </div>
      <AgentConfigEditor
        key={`${values.adapterType}-${configGeneration}-${schema ? 'schema' : 'json'}`}
        schema={schema}
        value={values.adapterConfig}
        onChange={(config) => set('adapterConfig', config)}
        apiErrors={fieldErrors.config}
        onInvalid={markInvalid}
      />
      <fieldset class="policy">
        <legend>Heartbeat policy</legend>
        <div class="form-grid">
          <label class="field checkbox">
            <input type="checkbox" data-testid="agent-timer-enabled" checked={values.heartbeat.enabled} onChange={(event) => setPolicy({ enabled: event.currentTarget.checked })} />
            <span>Wake on a timer</span>
          </label>
          <label class="field">
            <span class="field-label">Every (seconds)</span>
            <input type="number" min={0} step={1} data-testid="agent-interval" value={values.heartbeat.intervalSec} onInput={(event) => setPolicy({ intervalSec: Number(event.currentTarget.value) })} />
            {formError('heartbeat.intervalSec')}
          </label>
          <label class="field">
            <span class="field-label">Runs at once</span>
            <input type="number" min={1} step={1} data-testid="agent-max-concurrent" value={values.heartbeat.maxConcurrentRuns} onInput={(event) => setPolicy({ maxConcurrentRuns: Number(event.currentTarget.value) })} />
            {formError('heartbeat.maxConcurrentRuns')}
          </label>
          <label class="field checkbox">
            <input type="checkbox" data-testid="agent-wake-on-demand" checked={values.heartbeat.wakeOnDemand} onChange={(event) => setPolicy({ wakeOnDemand: event.currentTarget.checked })} />
            <span>Accept other wakeups</span>
          </label>
        </div>
        {formError('heartbeat')}
        {formError('heartbeat.enabled')}
        {formError('heartbeat.wakeOnDemand')}
        {formError('heartbeat.silenceTimeoutSec')}
      </fieldset>
      <div class="form-actions">
        <button type="submit" class="primary" data-testid="agent-submit" disabled={saving}>
          {saving ? 'Saving…' : agentId ? 'Save changes' : 'Create agent'}
        </button>
        {onCancel && (
          <button type="button" data-testid="agent-cancel" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </form>
  );
}
