// Data readers: document splitting, the JSONL formats with lm-eval's preprocessing, bundled data and
// errors that name the file and line.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BUNDLED_BENCHMARKS,
  loadDataset,
  parseArc,
  parseGsm8k,
  parseHellaswag,
  parseMcJsonl,
  preprocessHellaswag,
  pythonCapitalize,
  splitDocuments,
} from '../src/data';

describe('splitDocuments', () => {
  it('splits at runs of blank or whitespace-only lines and strips each document', () => {
    const text = '  One two.\nthree\n\n\nFour.  \n \t \nFive\n\n';
    expect(splitDocuments(text)).toEqual(['One two.\nthree', 'Four.', 'Five']);
  });

  it('normalises CRLF so a CRLF file splits like its LF copy', () => {
    const lf = ' = Title = \n\n Some text here .\n more\n\n = = Sub = = \n';
    expect(splitDocuments(lf.replace(/\n/g, '\r\n'))).toEqual(splitDocuments(lf));
    expect(splitDocuments(lf)).toEqual(['= Title =', 'Some text here .\n more', '= = Sub = =']);
  });
});

describe('bundled data', () => {
  it('loads every bundled benchmark with its sha256 (the README checksums)', () => {
    const expected: Record<string, string> = {
      tinystories: '555d942121c922498d7822e6e88c48c6a624e2b2193d302e628c37ed65a0a5d5',
      wikitext2: '71fa921e51ba607b4364d8787d05f4513b41b33732dd3504ff1af8952c6e7e77',
      gsm8k: '3730d312f6e3440559ace48831e51066acaca737f6eabec99bccb9e4b3c39d14',
      hellaswag: '79b87117cffba9878961284f233797c5ebeba4193cb48a93eabc4a5a1156cc45',
      'arc-easy': 'ce32a0774b4beb1977d2c6b16dda5dd2b24fdc9c7f506882c452678676bd09be',
    };
    const sizes: Record<string, number> = {};
    for (const b of BUNDLED_BENCHMARKS) {
      const d = loadDataset(b.name);
      expect(d.dataHash).toBe(expected[b.name]);
      expect(d.format).toBe(b.format);
      sizes[b.name] = d.data.kind === 'text' ? d.data.documents.length : d.data.items.length;
    }
    expect(sizes.gsm8k).toBe(1319);
    expect(sizes.hellaswag).toBe(1000);
    expect(sizes['arc-easy']).toBe(2376);
    expect(sizes.tinystories).toBeGreaterThan(2000);
    const wiki = loadDataset('wikitext2').data;
    if (wiki.kind !== 'text') throw new Error('wikitext2 is text');
    expect(wiki.documents.every((d) => !d.includes('\r'))).toBe(true);
    expect(wiki.documents[0]).toBe('= Robert Boulter =');
  });

  it('GSM8K: question, answer and the final answer after ####', () => {
    const d = loadDataset('gsm8k').data;
    if (d.kind !== 'generation') throw new Error('gsm8k is generation');
    expect(d.items[0].question).toMatch(/^Janet’s ducks lay 16 eggs/);
    expect(d.items[0].finalAnswer).toBe('18');
  });

  it('a user file needs a format, and a bundled name refuses a different one', () => {
    expect(() => loadDataset('/nope.jsonl')).toThrow(/data: .*needs format/);
    expect(() => loadDataset('gsm8k', 'arc')).toThrow(/format: bundled benchmark "gsm8k" is gsm8k/);
    expect(() => loadDataset('/definitely/missing.txt', 'text')).toThrow(/data: cannot read/);
  });
});

describe('HellaSwag (lm-eval preprocessing)', () => {
  it('capitalize lower-cases the rest, as Python', () => {
    expect(pythonCapitalize('a few WOMEN')).toBe('A few women');
  });
  it('preprocess drops WikiHow brackets and fixes [title]', () => {
    expect(preprocessHellaswag(' How to cook [title] Boil water. [step] Add  salt. ')).toBe('How to cook. Boil water. Add salt.');
  });
  it('builds query, choices and gold like lm-eval', () => {
    const line = JSON.stringify({ activity_label: 'Pole vault', ctx_a: 'Pole vault is a sport.', ctx_b: 'a few women', endings: ['go.', 'watch [header] it.'], label: 1 });
    const [item] = parseHellaswag(line + '\n', 'h.jsonl');
    expect(item.context).toBe('Pole vault: Pole vault is a sport. A few women');
    expect(item.choices).toEqual(['go.', 'watch it.']);
    expect(item.continuations).toEqual([' go.', ' watch it.']);
    expect(item.answer).toBe(1);
  });
  it('the bundled first item', () => {
    const d = loadDataset('hellaswag').data;
    if (d.kind !== 'multiple-choice') throw new Error('mc');
    expect(d.items[0].context).toBe('Pole vault: Pole vault is a sport where you run with a pole and stop and swing your body. A few women');
    expect(d.items[0].answer).toBe(3);
  });
});

describe('ARC and mc-jsonl', () => {
  it('ARC: "Question: ...\\nAnswer:" and the answerKey as an index', () => {
    const line = JSON.stringify({ question: { stem: 'Why?', choices: [{ text: 'a', label: '1' }, { text: 'b', label: '2' }] }, answerKey: '2' });
    const [item] = parseArc(line, 'a.jsonl');
    expect(item).toEqual({ context: 'Question: Why?\nAnswer:', choices: ['a', 'b'], continuations: [' a', ' b'], answer: 1 });
  });
  it('mc-jsonl: answer as index or as the choice text', () => {
    const text = [JSON.stringify({ context: 'Sky is', choices: ['blue', 'green'], answer: 0 }), JSON.stringify({ context: 'Grass is ', choices: ['blue', 'green'], answer: 'green' })].join('\n');
    const items = parseMcJsonl(text, 'm.jsonl');
    expect(items[0].answer).toBe(0);
    expect(items[0].continuations).toEqual([' blue', ' green']);
    expect(items[1].answer).toBe(1);
    expect(items[1].continuations).toEqual(['blue', 'green']);
  });
});

describe('bad files name the file and the line', () => {
  it.each([
    ['gsm8k', '{"question":"q","answer":"a\\n#### 3"}\n{"question":"q"}', /g\.jsonl:2: missing field "answer"/],
    ['gsm8k', '{"question":"q","answer":"no final"}', /g\.jsonl:1: field "answer" has no final answer/],
    ['gsm8k', '{"question":"q","answer":"x #### 1"}\n\n{oops', /g\.jsonl:3: invalid JSON/],
    ['arc', '{"question":{"stem":"s","choices":[{"text":"a","label":"A"},{"text":"b","label":"B"}]},"answerKey":"C"}', /g\.jsonl:1: answerKey "C" is not one of the labels A, B/],
    ['hellaswag', '{"activity_label":"x","ctx_a":"a","ctx_b":"b","endings":["e1","e2"],"label":5}', /g\.jsonl:1: field "label" must be an index/],
    ['mc-jsonl', '[1,2]', /g\.jsonl:1: each line must be a JSON object/],
    ['mc-jsonl', '{"context":"c","choices":"ab","answer":0}', /g\.jsonl:1: field "choices" must be an array/],
  ] as const)('%s: %s', (format, content, error) => {
    const dir = mkdtempSync(join(tmpdir(), 'kvbench-data-'));
    const file = join(dir, 'g.jsonl');
    writeFileSync(file, content);
    expect(() => loadDataset(file, format)).toThrow(error);
  });

  it('an empty text file is an error naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kvbench-data-'));
    const file = join(dir, 'empty.txt');
    writeFileSync(file, '\n  \n');
    expect(() => loadDataset(file, 'text')).toThrow(/empty\.txt: no documents/);
  });

  it('parseGsm8k rejects a file with no items', () => {
    expect(() => parseGsm8k('\n\n', 'x.jsonl')).toThrow(/x\.jsonl: no items/);
  });
});
