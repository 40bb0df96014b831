import { agrees, answerText, normalise, sameFormat, StreamedText } from './compare.js';
import { mirrorVerdict, sample } from './mirror.js';

describe('answer text', () => {
  test('reads the first choice of a chat or completions body, and nothing of other bodies', () => {
    const chat = JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: 'Hi.' } }] });
    expect(answerText(chat)).toBe('Hi.');
    expect(answerText(JSON.stringify({ choices: [{ text: 'done' }] }))).toBe('done');
    expect(answerText(JSON.stringify({ data: [{ embedding: [0.1] }] }))).toBeUndefined();
    expect(answerText('not json')).toBeUndefined();
  });

  test('collects the deltas of the first choice of a stream split anywhere', () => {
    const events = [
      { choices: [{ index: 0, delta: { role: 'assistant' } }] },
      { choices: [{ index: 0, delta: { content: 'Hel' } }] },
      { choices: [{ index: 1, delta: { content: 'other choice' } }] },
      { choices: [{ index: 0, delta: { content: 'lo' } }] },
    ];
    const sse = events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('') + 'data: [DONE]\n\n';
    const t = new StreamedText();
    for (let i = 0; i < sse.length; i += 7) t.push(sse.slice(i, i + 7));
    expect(t.text()).toBe('Hello');
  });
});

describe('compare modes', () => {
  test('exact agrees only on identical text', () => {
    expect(agrees('exact', 'Paris.', 'Paris.')).toBe(true);
    expect(agrees('exact', 'Paris.', 'paris')).toBe(false);
  });

  test('normalised folds case, white space and punctuation', () => {
    expect(normalise('  The   ANSWER: Paris!\n')).toBe('the answer paris');
    expect(agrees('normalised', 'The answer: Paris.', 'the answer paris')).toBe(true);
    expect(agrees('normalised', 'The answer: Paris.', 'the answer is Lyon')).toBe(false);
  });

  test('format: both JSON with the same keys or both prose, and a length within ±50%', () => {
    expect(sameFormat('{"a":1,"b":2}', '{"b":3,"a":4}')).toBe(true);
    expect(sameFormat('{"a":1,"b":2}', '{"a":1,"c":2}')).toBe(false);
    expect(sameFormat('{"a":1}', 'a: 1 in prose')).toBe(false);
    expect(sameFormat('```json\n{"a":1}\n```', '{"a": 2222}')).toBe(true);
    expect(sameFormat('ten chars!', 'fifteen chars!!')).toBe(true);
    expect(sameFormat('ten chars!', 'sixteen chars!!!')).toBe(false);
    expect(agrees('format', 'short', 'short')).toBe(true);
  });
});

describe('sampling and drops', () => {
  test('the credit mirrors exactly percent of the requests, evenly spread', () => {
    const picks = (percent: number, n: number) => {
      let credit = 0;
      const out: boolean[] = [];
      for (let i = 0; i < n; i++) {
        const s = sample(credit, percent);
        credit = s.credit;
        out.push(s.sampled);
      }
      return out;
    };
    expect(picks(100, 5)).toEqual([true, true, true, true, true]);
    expect(picks(0, 5)).toEqual([false, false, false, false, false]);
    expect(picks(25, 8)).toEqual([false, false, false, true, false, false, false, true]);
    expect(picks(10, 1000).filter(Boolean)).toHaveLength(100);
  });

  test('a failed primary, a busy gateway and the in-flight cap each drop the mirror, in that order', () => {
    expect(mirrorVerdict(true, 0.2, 0.5, 0, 16)).toBe('mirror');
    expect(mirrorVerdict(false, 0.9, 0.5, 16, 16)).toBe('primary-failed');
    expect(mirrorVerdict(true, 0.51, 0.5, 16, 16)).toBe('gateway-busy');
    expect(mirrorVerdict(true, 0.5, 0.5, 16, 16)).toBe('inflight-cap');
    expect(mirrorVerdict(true, 0.5, 0.5, 15, 16)).toBe('mirror');
  });
});
