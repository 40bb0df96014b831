import { sessionCookie, sessionIdOf, Sessions } from './sessions.js';

describe('Sessions', () => {
  test('expires a session after its lifetime', () => {
    let t = 0;
    const s = new Sessions({ max: 4, ttlMs: 1000 }, () => t);
    const id = s.create({ user: 'u', groups: [] });
    expect(s.get(id)?.user).toBe('u');
    t = 1000;
    expect(s.get(id)).toBeUndefined();
  });

  test('keeps at most max sessions, dropping the oldest', () => {
    const s = new Sessions({ max: 2, ttlMs: 60_000 });
    const a = s.create({ user: 'a', groups: [] });
    const b = s.create({ user: 'b', groups: [] });
    const c = s.create({ user: 'c', groups: [] });
    expect(s.size).toBe(2);
    expect(s.get(a)).toBeUndefined();
    expect(s.get(b)?.user).toBe('b');
    expect(s.get(c)?.user).toBe('c');
  });

  test('ids are long and random', () => {
    const s = new Sessions();
    const ids = new Set(Array.from({ length: 100 }, () => s.create({ user: 'u', groups: [] })));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id.length).toBeGreaterThanOrEqual(43);
  });

  test('reads its cookie among others and writes it HttpOnly and SameSite=Strict', () => {
    expect(sessionIdOf('a=1; beastmode_dashboard=abc=; b=2')).toBe('abc=');
    expect(sessionIdOf('a=1')).toBeUndefined();
    expect(sessionCookie('x', 60)).toMatch(/HttpOnly; SameSite=Strict; Path=\/; Max-Age=60/);
  });
});
