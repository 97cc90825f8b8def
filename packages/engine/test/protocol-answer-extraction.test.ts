import { describe, expect, it } from 'vitest';
import { extractAnswer, fewShotPrefix, normaliseAnswer, questionPrompt } from '../src/protocols';

describe('GSM8K answer extraction', () => {
  it.each([
    ['She makes 9 * 2 = $18 every day.\n#### 18', '18'],
    ['#### 1,234.', '1234'],
    ['The answer is $1,000.', '1000'],
    ['first 3 then 45 and finally -7', '-7'],
    ['no numbers here', null],
  ])('%j -> %j', (output, want) => {
    expect(extractAnswer(output)).toBe(want);
  });

  it('normalises references like lm-eval', () => {
    expect(normaliseAnswer(' 1,000 ')).toBe('1000');
    expect(normaliseAnswer('$5.')).toBe('5');
  });

  it('few-shot prompt format', () => {
    const shot = { question: 'Q1?', answer: 'A1\n#### 1', finalAnswer: '1' };
    expect(fewShotPrefix([shot]) + questionPrompt({ question: 'Q2?', answer: '', finalAnswer: '' })).toBe('Question: Q1?\nAnswer: A1\n#### 1\n\nQuestion: Q2?\nAnswer:');
  });
});
