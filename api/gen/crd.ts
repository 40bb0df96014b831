// Turns the zod schemas into CustomResourceDefinitions: zod's OpenAPI 3.0 output, post-processed into a
// structural schema as the API server requires (see structural.ts for the rules it is checked against).
import { z } from 'zod';
import { CATEGORY, GROUP, KINDS, VERSION, type KindInfo } from '../v1alpha1/index.js';

export type Schema = { [key: string]: unknown };

const SAFE_INT = Number.MAX_SAFE_INTEGER;

function isSchema(v: unknown): v is Schema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** True for zod's rendering of `int | string` (a quantity), which the API server spells int-or-string. */
function isIntOrString(s: Schema): boolean {
  const any = s.anyOf;
  if (!Array.isArray(any) || any.length !== 2) return false;
  const types = any.map((x) => (isSchema(x) ? x.type : undefined)).sort();
  return types[0] === 'integer' && types[1] === 'string';
}

/** Rewrites one node (and its children) into structural form. */
export function toStructural(node: Schema): Schema {
  if (isIntOrString(node)) {
    const out: Schema = { 'x-kubernetes-int-or-string': true };
    if (typeof node.description === 'string') out.description = node.description;
    if (node.default !== undefined) out.default = node.default;
    return out;
  }
  const out: Schema = {};
  for (const [key, value] of Object.entries(node)) {
    switch (key) {
      case '$schema':
      case 'propertyNames':
      case 'id':
        break;
      case 'additionalProperties':
        // Beside `properties` it is not allowed; `false` is the API server's default pruning anyway.
        if (node.properties === undefined && isSchema(value)) out.additionalProperties = toStructural(value);
        break;
      case 'properties':
        out.properties = Object.fromEntries(
          Object.entries(value as Record<string, Schema>).map(([k, v]) => [k, toStructural(v)]),
        );
        break;
      case 'items':
        out.items = toStructural(value as Schema);
        break;
      case 'minimum':
        if (value !== -SAFE_INT) out.minimum = value;
        break;
      case 'maximum':
        if (value !== SAFE_INT) out.maximum = value;
        break;
      default:
        out[key] = value;
    }
  }
  return out;
}

/** The openAPIV3Schema of one kind. */
export function renderSchema(info: KindInfo): Schema {
  const raw = z.toJSONSchema(info.schema, { target: 'openapi-3.0', io: 'input' }) as Schema;
  const root = toStructural(raw);
  const props = root.properties as Record<string, Schema>;
  props.apiVersion = { type: 'string', description: 'beastmode.dev/v1alpha1' };
  props.kind = { type: 'string', description: info.kind };
  props.metadata = { type: 'object' };
  root.required = ['spec'];
  root.description = `${info.kind} of ${GROUP}. Generated from api/v1alpha1: do not edit.`;
  const status = props.status?.properties as Record<string, Schema> | undefined;
  const conditions = status?.conditions;
  if (conditions) {
    conditions['x-kubernetes-list-type'] = 'map';
    conditions['x-kubernetes-list-map-keys'] = ['type'];
  }
  return root;
}

export function renderCrd(info: KindInfo): Schema {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${info.plural}.${GROUP}`,
      labels: { 'app.kubernetes.io/name': 'beastmode', 'app.kubernetes.io/part-of': 'beastmode' },
    },
    spec: {
      group: GROUP,
      names: {
        kind: info.kind,
        listKind: `${info.kind}List`,
        plural: info.plural,
        singular: info.singular,
        shortNames: info.shortNames,
        categories: [CATEGORY],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: renderSchema(info) },
          subresources: { status: {}, ...(info.scale ? { scale: info.scale } : {}) },
          additionalPrinterColumns: info.printerColumns,
        },
      ],
    },
  };
}

export function crdFileName(info: KindInfo): string {
  return `${GROUP}_${info.plural}.yaml`;
}

export function allCrds(): { info: KindInfo; crd: Schema }[] {
  return KINDS.map((info) => ({ info, crd: renderCrd(info) }));
}
