// Plain-text corpora (TinyStories, WikiText-2) as documents: split at runs of blank or whitespace-only
// lines, each document stripped (benchmarks.md, ppl-decode). CRLF and lone CR line endings are
// normalised first, so the WikiText-2 CRLF export splits the same as an LF copy.

export function normaliseNewlines(text: string): string {
  return text.replace(/\r\n?/g, '\n');
}

export function splitDocuments(text: string): string[] {
  return normaliseNewlines(text)
    .split(/\n[ \t\f\v\u00a0\ufeff]*\n(?:[ \t\f\v\u00a0\ufeff]*\n)*/)
    .map((doc) => doc.trim())
    .filter((doc) => doc.length > 0);
}
