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

/** Returns every violation, with its JSON path; an empty list means the schema is structural. */
export function structuralViolations(node: Schema, path = '$'): string[] {
  const out: string[] = [];
  for (const key of Object.keys(node)) {
    if (FORBIDDEN.includes(key)) out.push(`${path}: "${key}" is not allowed in a structural schema`);
    else if (!KNOWN.has(key)) out.push(`${path}: unknown keyword "${key}"`);
  }
  const special =
    node['x-kubernetes-int-or-string'] === true || node['x-kubernetes-preserve-unknown-fields'] === true;
  if (!special && (typeof node.type !== 'string' || !TYPES.has(node.type))) {
    out.push(`${path}: every node needs a type (found ${JSON.stringify(node.type)})`);
  }
  if (node.properties !== undefined && node.additionalProperties !== undefined) {
    out.push(`${path}: properties and additionalProperties are mutually exclusive`);
  }
  if (node.additionalProperties === false || node.additionalProperties === true) {
    out.push(`${path}: additionalProperties must be a schema`);
  }
  if ((node.properties !== undefined || node.additionalProperties !== undefined) && node.type !== 'object') {
    out.push(`${path}: properties need type object`);
  }
  if (node.items !== undefined && (Array.isArray(node.items) || node.type !== 'array')) {
    out.push(`${path}: items must be one schema on a type array node`);
  }
  if (node.type === 'array' && node.items === undefined) out.push(`${path}: an array needs items`);
  const listType = node['x-kubernetes-list-type'];
  if (listType === 'map') {
    const keys = node['x-kubernetes-list-map-keys'];
    const item = node.items as Schema | undefined;
    const required = (item?.required as string[] | undefined) ?? [];
    if (!Array.isArray(keys) || keys.length === 0)
      out.push(`${path}: a map list needs x-kubernetes-list-map-keys`);
    else {
      for (const k of keys as string[]) {
        const prop = (item?.properties as Record<string, Schema> | undefined)?.[k];
        if (!required.includes(k) && prop?.default === undefined) {
          out.push(`${path}: list-map key "${k}" must be required or defaulted`);
        }
      }
    }
  }
  if (Array.isArray(node.required)) {
    for (const r of node.required as string[]) {
      if (!(node.properties as Record<string, unknown> | undefined)?.[r])
        out.push(`${path}: required "${r}" is not a property`);
    }
  }
  for (const [k, v] of Object.entries((node.properties as Record<string, Schema> | undefined) ?? {})) {
    out.push(...structuralViolations(v, `${path}.${k}`));
  }
  if (node.additionalProperties && typeof node.additionalProperties === 'object') {
    out.push(...structuralViolations(node.additionalProperties as Schema, `${path}.*`));
  }
  if (node.items && !Array.isArray(node.items))
    out.push(...structuralViolations(node.items as Schema, `${path}[]`));
  return out;
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
