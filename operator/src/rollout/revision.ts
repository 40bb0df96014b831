// The revision of a backend spec: a short hash of its canonical JSON with defaults applied, so the same spec
// written with or without defaulted fields (as the API server stores it) has the same revision.
import { createHash } from 'node:crypto';
import type { z } from 'zod';
import { Backend } from '../../../api/v1alpha1/index.js';

export type BackendInput = z.input<typeof Backend>;

/** The backend spec with schema defaults filled in; throws if it does not validate. */
export function normalizeBackend(backend: BackendInput): Backend {
  return Backend.parse(backend);
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([k, v]) => [k, canonical(v)]));
  }
  return value;
}

/** 16 hex digits of the sha256 of the normalized spec. */
export function backendRevision(backend: BackendInput): string {
  const json = JSON.stringify(canonical(normalizeBackend(backend)));
  return createHash('sha256').update(json).digest('hex').slice(0, 16);
}
