// Shared limit store: every check-and-charge is one Lua script, so it is atomic across replicas. GCRA
// state is one key per cell (its TAT, expiring when it would be back to empty); a budget is one float
// counter per subject and calendar window (INCRBYFLOAT, expiring after the window). Time comes from the
// caller's clock (ARGV), so the gateway's injected clock drives Redis too (expiries are relative, PEXPIRE);
// replica clock skew of a few ms is negligible against a one-minute period.
import type { Redis } from 'ioredis';
import { LuaScript } from '../policy/redis.js';
import type { AdjustRequest, LimitStore, ReserveRequest, ReserveResult } from './store.js';

// KEYS: rate keys then budget keys. ARGV: now, period, nRates, nBudgets,
// then per rate (limit, cost), then per budget (limitUsd, amountUsd, expireAtMs).
// Returns {rateIndex (1-based, 0 = none), retryAfterMs, {failed budget indices}, {used as strings}}.
const RESERVE = `
local now = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local nr = tonumber(ARGV[3])
local nb = tonumber(ARGV[4])
local rateFail, retryAfter = 0, 0
local tats = {}
for i = 1, nr do
  local limit = tonumber(ARGV[3 + 2 * i])
  local cost = math.min(tonumber(ARGV[4 + 2 * i]), limit)
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if tat < now then tat = now end
  local newTat = tat + cost * period / limit
  tats[i] = newTat
  local excess = newTat - now - period
  if excess > 0 and rateFail == 0 then
    rateFail = i
    retryAfter = math.ceil(excess)
  end
end
local base = 4 + 2 * nr
local failed, used = {}, {}
for j = 1, nb do
  local limitUsd = tonumber(ARGV[base + 3 * j - 2])
  local amount = tonumber(ARGV[base + 3 * j - 1])
  local u = tonumber(redis.call('GET', KEYS[nr + j]) or '0')
  used[j] = tostring(u)
  if amount > 0 and u + amount > limitUsd then failed[#failed + 1] = j end
end
if rateFail > 0 or #failed > 0 then return {rateFail, retryAfter, failed, used} end
for i = 1, nr do
  if tonumber(ARGV[4 + 2 * i]) > 0 then
    redis.call('SET', KEYS[i], string.format('%.3f', tats[i]), 'PX', math.ceil(tats[i] - now) + 1)
  end
end
for j = 1, nb do
  local amount = ARGV[base + 3 * j - 1]
  used[j] = redis.call('INCRBYFLOAT', KEYS[nr + j], amount)
  redis.call('PEXPIRE', KEYS[nr + j], math.max(1, math.ceil(tonumber(ARGV[base + 3 * j]) - now)))
end
return {0, 0, {}, used}
`;

// KEYS: rate keys then budget keys. ARGV: now, period, nRates, then per rate (limit, delta),
// then per budget (deltaUsd, expireAtMs).
const ADJUST = `
local now = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local nr = tonumber(ARGV[3])
for i = 1, nr do
  local limit = tonumber(ARGV[2 + 2 * i])
  local delta = tonumber(ARGV[3 + 2 * i])
  local tat = tonumber(redis.call('GET', KEYS[i]) or now)
  if delta > 0 and tat < now then tat = now end
  local newTat = tat + delta * period / limit
  if newTat <= now then
    redis.call('DEL', KEYS[i])
  else
    redis.call('SET', KEYS[i], string.format('%.3f', newTat), 'PX', math.ceil(newTat - now) + 1)
  end
end
local base = 3 + 2 * nr
for j = 1, #KEYS - nr do
  redis.call('INCRBYFLOAT', KEYS[nr + j], ARGV[base + 2 * j - 1])
  redis.call('PEXPIRE', KEYS[nr + j], math.max(1, math.ceil(tonumber(ARGV[base + 2 * j]) - now)))
end
return 1
`;

const reserveScript = new LuaScript(RESERVE);
const adjustScript = new LuaScript(ADJUST);

/** Number formatting that round-trips exactly through Lua's tonumber. */
const num = (n: number): string => (Number.isInteger(n) ? String(n) : n.toPrecision(17));

export class RedisLimitStore implements LimitStore {
  constructor(private readonly redis: Redis) {}

  async reserve(req: ReserveRequest, nowMs: number): Promise<ReserveResult> {
    const keys = [...req.rates.map((r) => r.key), ...req.budgets.map((b) => b.key)];
    const args: string[] = [
      num(nowMs),
      num(req.periodMs),
      String(req.rates.length),
      String(req.budgets.length),
    ];
    for (const r of req.rates) args.push(num(r.limit), num(r.cost));
    for (const b of req.budgets)
      args.push(num(b.limitUsd), num(b.amountUsd), String(Math.ceil(b.expireAtMs)));
    const reply = (await reserveScript.run(this.redis, keys, args)) as [number, number, number[], string[]];
    const [rateIndex, retryAfterMs, failed, used] = reply;
    const budgetUsedUsd = used.map(Number);
    if (rateIndex === 0 && failed.length === 0) return { ok: true, budgetUsedUsd };
    return {
      ok: false,
      ...(rateIndex > 0 ? { rate: { index: rateIndex - 1, retryAfterMs } } : {}),
      budgets: failed.map((j) => j - 1),
      budgetUsedUsd,
    };
  }

  async adjust(req: AdjustRequest, nowMs: number): Promise<void> {
    const rates = req.rates.filter((r) => r.delta !== 0);
    const budgets = req.budgets.filter((b) => b.deltaUsd !== 0);
    if (rates.length === 0 && budgets.length === 0) return;
    const keys = [...rates.map((r) => r.key), ...budgets.map((b) => b.key)];
    const args: string[] = [num(nowMs), num(req.periodMs), String(rates.length)];
    for (const r of rates) args.push(num(r.limit), num(r.delta));
    for (const b of budgets) args.push(num(b.deltaUsd), String(Math.ceil(b.expireAtMs)));
    await adjustScript.run(this.redis, keys, args);
  }
}
