// The domain classifier: the bundled model is what training on the labelled prompts gives, it is measured
// on test prompts written apart from the training ones, and a model file that is not one is refused.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundledDomainModel, classifyDomain, DOMAINS, loadDomainModel } from './domain-model.js';
import { evaluateDomains, MMLU_DOMAINS, parseDomainRows, trainDomains } from './domain-train.js';

const dir = join(process.cwd(), 'gateway', 'src', 'routing', 'domains');
const rowsOf = (file: string) => parseDomainRows(readFileSync(join(dir, file), 'utf8'));

describe('domain classifier', () => {
  test('the bundled classifier is what `beastmode router train-domains` makes of the labelled prompts', async () => {
    const { DOMAINS_V1 } = await import('./models/domains-v1.js');
    expect(JSON.stringify(trainDomains(rowsOf('train.jsonl')))).toBe(DOMAINS_V1);
  });

  test('classifies held-out test prompts: 78% overall, every domain at 65% or better', () => {
    const test = rowsOf('test.jsonl');
    expect(new Set(test.map((r) => r.domain))).toEqual(new Set(DOMAINS));
    const report = evaluateDomains(bundledDomainModel(), test);
    expect(report.rows).toBe(test.length);
    expect(report.accuracy).toBeGreaterThanOrEqual(0.78);
    for (const d of DOMAINS) expect(report.domains[d]?.recall).toBeGreaterThanOrEqual(0.65);
  });

  test('the train and test prompts do not overlap', () => {
    const train = new Set(rowsOf('train.jsonl').map((r) => r.prompt.trim().toLowerCase()));
    expect(rowsOf('test.jsonl').filter((r) => train.has(r.prompt.trim().toLowerCase()))).toEqual([]);
  });

  test('obvious prompts land in their domain', () => {
    const m = bundledDomainModel();
    expect(classifyDomain(m, 'Why does my Python function return None instead of the list?').domain).toBe(
      'code',
    );
    expect(classifyDomain(m, 'My order arrived damaged, I want a refund').domain).toBe('customer-support');
    expect(classifyDomain(m, 'Write a short poem about autumn rain').domain).toBe('creative-writing');
  });

  test('a file that is not a domain model is refused with the reason', () => {
    const good = JSON.parse(JSON.stringify(trainDomains(rowsOf('train.jsonl').slice(0, 50)))) as Record<
      string,
      unknown
    >;
    expect(() => loadDomainModel({ ...good, weights: 'AAAA' })).toThrow(/buckets × domains bytes/);
    expect(() => loadDomainModel({ ...good, domains: ['code', 'astrology'] })).toThrow(/not a domain model/);
    expect(() => loadDomainModel({ ...good, kind: 'x' })).toThrow(/not a domain model/);
  });

  test('MMLU subjects map to the domains, none twice', () => {
    expect(MMLU_DOMAINS.get('professional_law')).toBe('law');
    expect(MMLU_DOMAINS.get('clinical_knowledge')).toBe('medicine');
    expect(new Set(MMLU_DOMAINS.values()).size).toBeGreaterThanOrEqual(8);
  });
});
