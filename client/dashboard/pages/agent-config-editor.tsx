// The adapterConfig part of the agent form: one input per field the adapter's JSON Schema describes
// (text, numbers, lists one a line, maps as KEY=value lines, JSON for anything else), or the whole
// config as JSON. Redacted values (***REDACTED***) are shown as the API returns them; sent back
// unchanged, the server keeps what it stored.
import { useState } from 'preact/hooks';
import {
  configFields,
  listToText,
  mapToText,
  parseJson,
  parseJsonObject,
  textToList,
  textToMap,
  type ConfigField,
  type JsonSchema,
} from './agent-config-schema.ts';

export type Config = Record<string, unknown>;

interface EditorProps {
  schema: JsonSchema | null;
  value: Config;
  onChange: (value: Config) => void;
  /** What the API said about each config field (by field name), and about the config as a whole (''). */
  apiErrors: Record<string, string>;
  /** A field whose text does not parse (message) or parses again (null): the form is not sent meanwhile. */
  onInvalid: (field: string, message: string | null) => void;
}

/** `config` with `name` set to `value`, or without it when `value` is undefined. */
function withField(config: Config, name: string, value: unknown): Config {
  const next = { ...config };
  if (value === undefined) delete next[name];
  else next[name] = value;
  return next;
}

export function AgentConfigEditor({ schema, value, onChange, apiErrors, onInvalid }: EditorProps) {
  const fields = configFields(schema);
  // Keys the schema does not describe would be invisible among the fields: show the JSON then.
  const unknownKeys = fields ? Object.keys(value).filter((key) => !fields.some((field) => field.name === key)) : [];
  const [asJson, setAsJson] = useState(!fields || unknownKeys.length > 0);
  const [generation, setGeneration] = useState(0);

  const switchMode = () => {
    onInvalid('', null);
    for (const field of fields ?? []) onInvalid(field.name, null);
    setAsJson(!asJson);
    setGeneration(generation + 1); // inputs start again from the current value
  };

  return (
    <fieldset class="config-editor" data-testid="config-editor">
      <legend>
        Adapter config
        {fields && (
          <button type="button" class="link config-mode" data-testid="config-mode" onClick={switchMode}>
            {asJson ? 'Edit as fields' : 'Edit as JSON'}
          </button>
        )}
      </legend>
      {asJson || !fields ? (
        <RawConfig key={`raw-${generation}`} value={value} onChange={onChange} error={apiErrors['']} onInvalid={(message) => onInvalid('', message)} />
      ) : (
        fields.map((field) => (
          <ConfigFieldInput
            key={`${field.name}-${generation}`}
            field={field}
            value={value[field.name]}
            onChange={(next) => onChange(withField(value, field.name, next))}
            error={apiErrors[field.name]}
            onInvalid={(message) => onInvalid(field.name, message)}
          />
        ))
      )}
      {!asJson && fields && apiErrors[''] && <p class="field-error" data-testid="config-error">{apiErrors['']}</p>}
    </fieldset>
  );
}

function RawConfig({ value, onChange, error, onInvalid }: { value: Config; onChange: (value: Config) => void; error?: string; onInvalid: (message: string | null) => void }) {
  const [text, setText] = useState(() => JSON.stringify(value, null, 2));
  const [local, setLocal] = useState<string | null>(null);
  const edit = (next: string) => {
    setText(next);
    const parsed = parseJsonObject(next);
    const message = 'error' in parsed ? parsed.error : null;
    setLocal(message);
    onInvalid(message);
    if (!('error' in parsed)) onChange(parsed.value ?? {});
  };
  return (
    <label class="field">
      <span class="field-label">JSON</span>
      <textarea class="code" rows={8} spellcheck={false} data-testid="config-json" value={text} onInput={(event) => edit(event.currentTarget.value)} />
      {(local ?? error) && <span class="field-error" data-testid="config-error">{local ?? error}</span>}
    </label>
  );
}

/** The text an input starts from for a field's value. */
function initialText(field: ConfigField, value: unknown): string {
  if (value === undefined || value === null) return '';
  switch (field.kind) {
    case 'string-list':
      return listToText(value);
    case 'string-map':
      return mapToText(value);
    case 'json':
      return JSON.stringify(value, null, 2);
    default:
      return String(value);
  }
}

/** A field's text as its value (undefined: leave it out), or why it cannot be one. */
function parseField(field: ConfigField, text: string): { value: unknown } | { error: string } {
  switch (field.kind) {
    case 'string':
    case 'enum':
      return { value: text === '' ? undefined : text };
    case 'number':
    case 'integer': {
      if (text.trim() === '') return { value: undefined };
      const number = Number(text);
      if (!Number.isFinite(number) || (field.kind === 'integer' && !Number.isInteger(number))) return { error: field.kind === 'integer' ? 'Write a whole number' : 'Write a number' };
      return { value: number };
    }
    case 'boolean':
      return { value: text === '' ? undefined : text === 'true' };
    case 'string-list':
      return { value: textToList(text) };
    case 'string-map':
      return textToMap(text);
    case 'json':
      return parseJson(text);
  }
}

/** How to write a field whose input is a textarea. */
const KIND_HINTS: Partial<Record<ConfigField['kind'], string>> = { 'string-list': 'one a line', 'string-map': 'KEY=value, one a line', json: 'JSON' };

function ConfigFieldInput({ field, value, onChange, error, onInvalid }: { field: ConfigField; value: unknown; onChange: (value: unknown) => void; error?: string; onInvalid: (message: string | null) => void }) {
  const [text, setText] = useState(() => initialText(field, value));
  const [local, setLocal] = useState<string | null>(null);
  const edit = (next: string) => {
    setText(next);
    const parsed = parseField(field, next);
    const message = 'error' in parsed ? parsed.error : null;
    setLocal(message);
    onInvalid(message);
    if (!('error' in parsed)) onChange(parsed.value);
  };
  const shown = local ?? error;
  const common = { 'data-testid': `config-field-${field.name}`, name: field.name, 'aria-invalid': shown ? true : undefined };
  const hint = KIND_HINTS[field.kind];
  return (
    <label class="field" data-field={field.name}>
      <span class="field-label">
        {field.name}
        {field.required && <span class="required" title="required"> *</span>}
        {hint && <span class="muted"> ({hint})</span>}
      </span>
      {field.kind === 'boolean' ? (
        <select {...common} value={text} onChange={(event) => edit(event.currentTarget.value)}>
          <option value="">(default)</option>
          <option value="true">yes</option>
          <option value="false">no</option>
        </select>
      ) : field.kind === 'enum' ? (
        <select {...common} value={text} onChange={(event) => edit(event.currentTarget.value)}>
          <option value="">{field.required ? 'Choose…' : '(default)'}</option>
          {field.choices!.map((choice) => (
            <option key={choice} value={choice}>{choice}</option>
          ))}
        </select>
      ) : field.kind === 'string-list' || field.kind === 'string-map' || field.kind === 'json' ? (
        <textarea {...common} class={field.kind === 'json' ? 'code' : undefined} rows={field.kind === 'json' ? 5 : 3} spellcheck={false} value={text} onInput={(event) => edit(event.currentTarget.value)} />
      ) : field.kind === 'string' ? (
        <input {...common} type="text" placeholder={field.placeholder} value={text} onInput={(event) => edit(event.currentTarget.value)} />
      ) : (
        <input
          {...common}
          type="number"
          step={field.kind === 'integer' ? 1 : 'any'}
          min={field.minimum}
          placeholder={field.placeholder}
          value={text}
          onInput={(event) => edit(event.currentTarget.value)}
        />
      )}
      {field.description && <span class="hint">{field.description}</span>}
      {shown && <span class="field-error" data-testid={`config-error-${field.name}`}>{shown}</span>}
    </label>
  );
}
