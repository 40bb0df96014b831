import { entitiesOf, formatsOf, guardRefusal, negates, numbersOf } from './guard.js';

describe('guardRefusal', () => {
  test.each([
    [
      'numbers differ',
      'Split the data 80/20 into train and test',
      'Split the data 70/30 into train and test',
    ],
    [
      'numbers differ',
      'Give me three examples of sorting algorithms',
      'Give me five examples of sorting algorithms',
    ],
    ['numbers differ', 'What changed in version 2.10.0?', 'What changed in version 2.11.0?'],
    ['negation differs', 'Why is my container restarting?', 'Why is my container not restarting?'],
    ['negation differs', "The build can't find the module", 'The build can find the module'],
    ['negation differs', 'Should I never use global variables?', 'Should I use global variables?'],
    ['entities differ', 'How do I install PyTorch on Ubuntu?', 'How do I install TensorFlow on Ubuntu?'],
    ['entities differ', 'What does `load_dataset` return?', 'What does `load_metric` return?'],
    ['entities differ', 'Who founded Microsoft?', 'Who founded Apple?'],
    ['format differs', 'List the planets as JSON', 'List the planets as YAML'],
    ['format differs', 'Summarise the article in 50 words', 'Summarise the article in 50 sentences'],
    ['format differs', 'Please reply in french', 'Please reply in spanish'],
    ['format differs', 'Compare the plans in a table', 'Compare the plans'],
  ])('refuses with "%s": %s / %s', (reason, query, cached) => {
    expect(guardRefusal(query, cached)).toBe(reason);
    expect(guardRefusal(cached, query)).toBe(reason);
  });

  test.each([
    ['How do I install PyTorch on Ubuntu?', 'On Ubuntu, how can PyTorch be installed?'],
    ['What does the `map` method do?', 'Explain what `map` does.'],
    ['Version 2.10.0 does not contain it.', "No, it doesn't exist in version 2.10.0."],
    ['Give me three examples of sorting algorithms', 'Name 3 sorting algorithms as examples'],
    ['Paris is the capital of France.', 'The capital of France is Paris.'],
    ['Datasets can be shared on the Hub.', 'You can share datasets on the Hub.'],
    ['Return the result as JSON.', 'Give me the result in JSON format.'],
    ['The file is not only large but also slow to load.', 'The file is large and slow to load.'],
    ['It works with thousands of files.', 'It handles several thousand files.'],
    ['Steps: 1) download 2) extract 1) again', 'Download (1) then extract (2)'],
  ])('accepts the paraphrase: %s / %s', (query, cached) => {
    expect(guardRefusal(query, cached)).toBeUndefined();
    expect(guardRefusal(cached, query)).toBeUndefined();
  });

  test('an omitted name is not a different question, a substituted one is', () => {
    expect(guardRefusal('How do I deploy on Kubernetes?', 'How do I deploy it?')).toBeUndefined();
    expect(guardRefusal('How do I deploy on Kubernetes?', 'How do I deploy on Nomad?')).toBe(
      'entities differ',
    );
  });
});

describe('the guard features', () => {
  test('numbers are a sorted set of digits and counting words', () => {
    expect(numbersOf('two cats, 2 dogs and 3,000 birds in 1.5 days')).toEqual(['1.5', '2', '3000']);
    expect(numbersOf('the constructor')).toEqual([]);
  });

  test('negation counts n\'t and not, but not "not only"', () => {
    expect(negates("It doesn't")).toBe(true);
    expect(negates('Not only fast')).toBe(false);
    expect(negates('It is fast')).toBe(false);
  });

  test('entities skip a capitalised word opening a sentence, keep acronyms and code', () => {
    expect(entitiesOf('Install it. Then run kubectl on GKE with `my_tool`')).toEqual(
      expect.arrayContaining(['my_tool', 'gke']),
    );
    expect(entitiesOf('Install it. Then run it.')).toEqual([]);
  });

  test('formats are requests for a shape of answer', () => {
    expect(formatsOf('Answer in 3 sentences, as a bulleted list, in German')).toEqual([
      '3 sentenc',
      'in german',
      'list',
    ]);
  });
});
