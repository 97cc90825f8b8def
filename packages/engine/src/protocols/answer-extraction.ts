// GSM8K answer extraction (benchmarks.md gen-exact; lm-eval's gsm8k strict-match then flexible-extract):
// the number after "####", else the last number in the output; then lm-eval's normalisation
// (drop commas and "$", a trailing ".").

export const STRICT_ANSWER = /#### (-?[0-9.,]+)/;
export const ANY_NUMBER = /(-?[$0-9.,]{2,})|(-?[0-9]+)/g;

export function normaliseAnswer(text: string): string {
  return text.trim().replace(/,/g, '').replace(/\$/g, '').replace(/\.$/, '').trim();
}

/** The extracted, normalised answer; null when the output holds no number. */
export function extractAnswer(output: string): string | null {
  const strict = STRICT_ANSWER.exec(output);
  if (strict) return normaliseAnswer(strict[1]);
  const all = [...output.matchAll(ANY_NUMBER)];
  if (all.length === 0) return null;
  const last = all[all.length - 1];
  return normaliseAnswer(last[1] ?? last[2]);
}

/** How the extraction is recorded with a result. */
export const EXTRACTION_RECORD = {
  strict: STRICT_ANSWER.source,
  fallback: `last match of ${ANY_NUMBER.source}`,
  normalise: 'remove "," and "$", strip a trailing "."',
};
