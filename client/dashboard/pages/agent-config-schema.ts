// Reading an adapter's configSchema (JSON Schema) into form fields: the simple kinds of value a person
// types (text, a number, a yes/no, a list of strings, a map of strings) get an input each; anything
// else is edited as JSON. Also the text forms of lists and maps, both ways.

/** The part of JSON Schema the form reads. */
export interface JsonSchema {
  type?: string | string[];
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: boolean | JsonSchema;
  default?: unknown;
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
}

export type FieldKind = 'string' | 'number' | 'integer' | 'boolean' | 'enum' | 'string-list' | 'string-map' | 'json';

export interface ConfigField {
  name: string;
  kind: FieldKind;
  required: boolean;
  description?: string;
  /** The choices of an enum field. */
  choices?: string[];
  minimum?: number;
  /** The schema's default, shown as the input's placeholder. */
  placeholder?: string;
}

/** The schema's one type, when it names a single one besides null. */
function singleType(schema: JsonSchema): string | undefined {
  const types = (Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : []).filter((type) => type !== 'null');
  return types.length === 1 ? types[0] : undefined;
}

/** How `schema` is edited: an input of its kind, or JSON. */
export function fieldKind(schema: JsonSchema): FieldKind {
  if (schema.anyOf || schema.oneOf) return 'json';
  if (schema.enum?.length && schema.enum.every((value) => typeof value === 'string')) return 'enum';
  const type = singleType(schema);
  if (type === 'string' || type === 'number' || type === 'integer' || type === 'boolean') return type;
  if (type === 'array' && schema.items && fieldKind(schema.items) === 'string') return 'string-list';
  const values = schema.additionalProperties;
  if (type === 'object' && !schema.properties && typeof values === 'object' && fieldKind(values) === 'string') return 'string-map';
  return 'json';
}

/** The fields of an object schema in its order, or null when the schema is not an object of named fields. */
export function configFields(schema: JsonSchema | null | undefined): ConfigField[] | null {
  if (!schema || singleType(schema) !== 'object' || !schema.properties) return null;
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties).map(([name, property]) => ({
    name,
    kind: fieldKind(property),
    required: required.has(name),
    description: property.description,
    choices: fieldKind(property) === 'enum' ? (property.enum as string[]) : undefined,
    minimum: property.minimum ?? property.exclusiveMinimum,
    placeholder: property.default === undefined ? undefined : typeof property.default === 'string' ? property.default : JSON.stringify(property.default),
  }));
}

/** A list of strings as the textarea shows it: one a line. */
export const listToText = (value: unknown): string => (Array.isArray(value) ? value.map(String).join('\n') : '');

/** The textarea's lines as a list (blank lines dropped), or undefined when there are none. */
export function textToList(text: string): string[] | undefined {
  const lines = text.split('\n').map((line) => line.trim()).filter(Boolean);
  return lines.length ? lines : undefined;
}

/** A map of strings as the textarea shows it: KEY=value, one a line. */
export function mapToText(value: unknown): string {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return '';
  return Object.entries(value as Record<string, unknown>).map(([key, item]) => `${key}=${String(item)}`).join('\n');
}

/** KEY=value lines as a map, or an error naming the first line without `=`. */
export function textToMap(text: string): { value: Record<string, string> | undefined } | { error: string } {
  const map: Record<string, string> = {};
  for (const [index, line] of text.split('\n').entries()) {
    if (!line.trim()) continue;
    const at = line.indexOf('=');
    if (at <= 0) return { error: `Line ${index + 1}: write KEY=value` };
    map[line.slice(0, at).trim()] = line.slice(at + 1);
  }
  return { value: Object.keys(map).length ? map : undefined };
}

/** JSON text as a value, or an error saying why it does not parse. */
export function parseJson(text: string): { value: unknown } | { error: string } {
  if (!text.trim()) return { value: undefined };
  try {
    return { value: JSON.parse(text) };
  } catch (error) {
    return { error: `Not valid JSON: ${(error as Error).message}` };
  }
}

/** A JSON object written by a person, or an error: what the raw config editor and the wake payload accept. */
export function parseJsonObject(text: string): { value: Record<string, unknown> | undefined } | { error: string } {
  const parsed = parseJson(text);
  if ('error' in parsed) return parsed;
  if (parsed.value === undefined) return { value: undefined };
  if (!parsed.value || typeof parsed.value !== 'object' || Array.isArray(parsed.value)) return { error: 'Write a JSON object: { ... }' };
  return { value: parsed.value as Record<string, unknown> };
}

/** The field an API error path names (`adapterConfig.env.FOO` -> `env`), or null for a path outside the config. */
export function configFieldOfPath(path: string): string | null {
  const match = /^adapterConfig\.([^.[]+)/.exec(path);
  return match ? match[1] : null;
}
