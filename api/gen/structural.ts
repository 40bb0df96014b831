// A check of the Kubernetes structural-schema rules (apiextensions.k8s.io/v1), so a bad generated CRD
// fails in a unit test rather than at install time.
import type { Schema } from './crd.js';

const FORBIDDEN = [
  '$schema',
  '$ref',
  'definitions',
  '$defs',
  'dependencies',
  'patternProperties',
  'propertyNames',
  'const',
  'oneOf',
  'allOf',
  'not',
  'anyOf',
];
const KNOWN = new Set([
  'type',
  'format',
  'description',
  'title',
  'default',
  'enum',
  'nullable',
  'pattern',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minProperties',
  'maxProperties',
  'required',
  'properties',
  'additionalProperties',
  'items',
  'example',
  'x-kubernetes-int-or-string',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-validations',
]);
const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);

type Check = (node: Schema, path: string) => string[];

const checkKeywords: Check = (node, path) =>
  Object.keys(node).flatMap((key) => {
    if (FORBIDDEN.includes(key)) return [`${path}: "${key}" is not allowed in a structural schema`];
    return KNOWN.has(key) ? [] : [`${path}: unknown keyword "${key}"`];
  });

const checkType: Check = (node, path) => {
  const special =
    node['x-kubernetes-int-or-string'] === true || node['x-kubernetes-preserve-unknown-fields'] === true;
  if (special || (typeof node.type === 'string' && TYPES.has(node.type))) return [];
  return [`${path}: every node needs a type (found ${JSON.stringify(node.type)})`];
};

const checkObject: Check = (node, path) => {
  const out: string[] = [];
  const additional = node.additionalProperties;
  if (node.properties !== undefined && additional !== undefined) {
    out.push(`${path}: properties and additionalProperties are mutually exclusive`);
  }
  if (typeof additional === 'boolean') out.push(`${path}: additionalProperties must be a schema`);
  if ((node.properties !== undefined || additional !== undefined) && node.type !== 'object') {
    out.push(`${path}: properties need type object`);
  }
  const props = (node.properties as Record<string, unknown> | undefined) ?? {};
  for (const r of (node.required as string[] | undefined) ?? []) {
    if (!(r in props)) out.push(`${path}: required "${r}" is not a property`);
  }
  return out;
};

const checkArray: Check = (node, path) => {
  if (node.items !== undefined && (Array.isArray(node.items) || node.type !== 'array')) {
    return [`${path}: items must be one schema on a type array node`];
  }
  return node.type === 'array' && node.items === undefined ? [`${path}: an array needs items`] : [];
};

const checkListMap: Check = (node, path) => {
  if (node['x-kubernetes-list-type'] !== 'map') return [];
  const keys = node['x-kubernetes-list-map-keys'];
  if (!Array.isArray(keys) || keys.length === 0)
    return [`${path}: a map list needs x-kubernetes-list-map-keys`];
  const item = (node.items as Schema | undefined) ?? {};
  const required = (item.required as string[] | undefined) ?? [];
  const props = (item.properties as Record<string, Schema> | undefined) ?? {};
  return (keys as string[])
    .filter((k) => !required.includes(k) && props[k]?.default === undefined)
    .map((k) => `${path}: list-map key "${k}" must be required or defaulted`);
};

const CHECKS: Check[] = [checkKeywords, checkType, checkObject, checkArray, checkListMap];

function children(node: Schema, path: string): [Schema, string][] {
  const out: [Schema, string][] = Object.entries(
    (node.properties as Record<string, Schema> | undefined) ?? {},
  ).map(([k, v]) => [v, `${path}.${k}`]);
  if (node.additionalProperties && typeof node.additionalProperties === 'object') {
    out.push([node.additionalProperties as Schema, `${path}.*`]);
  }
  if (node.items && !Array.isArray(node.items)) out.push([node.items as Schema, `${path}[]`]);
  return out;
}

/** Returns every violation, with its JSON path; an empty list means the schema is structural. */
export function structuralViolations(node: Schema, path = '$'): string[] {
  return [
    ...CHECKS.flatMap((check) => check(node, path)),
    ...children(node, path).flatMap(([child, p]) => structuralViolations(child, p)),
  ];
}

/** The root of a CRD schema may only constrain metadata.name and metadata.generateName. */
export function rootViolations(root: Schema): string[] {
  const out = structuralViolations(root);
  const meta = (root.properties as Record<string, Schema> | undefined)?.metadata;
  if (meta && Object.keys(meta).some((k) => k !== 'type'))
    out.push('$.metadata: only type object is allowed');
  if (root.type !== 'object') out.push('$: the root must be type object');
  return out;
}
