// Builds a small but real byte-level BPE tokenizer.json (GPT-2 / Llama 3 / Qwen style) by training
// merges on a text sample. Random-weight model directories need a tokenizer and no hub is reachable.
// Ids: 0..255 the byte symbols, then merges in training order, then the special tokens.

/** GPT-2's reversible byte -> printable character map used by ByteLevel pre-tokenizers. */
export function bytesToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const map: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    map[b] = printable.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  }
  return map;
}

// The GPT-2 pre-tokenization pattern that ByteLevel(use_regex: true) applies.
const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

export interface ByteLevelBpeOptions {
  /** Text the merges are learned from. */
  corpus: string;
  /** Total ids including bytes and specials; merges fill what is left (up to maxMerges). */
  vocabSize: number;
  maxMerges?: number;
  bosToken?: string;
  eosToken?: string;
}

export interface ByteLevelBpeTokenizer {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  bosId: number;
  eosId: number;
  /** Number of ids used (<= vocabSize). */
  size: number;
}

export function buildByteLevelBpe(options: ByteLevelBpeOptions): ByteLevelBpeTokenizer {
  const bosToken = options.bosToken ?? '<|begin_of_text|>';
  const eosToken = options.eosToken ?? '<|end_of_text|>';
  const byteChars = bytesToUnicode();
  if (options.vocabSize < 256 + 2) throw new Error(`vocabSize ${options.vocabSize} is below the 258 ids a byte-level BPE needs`);
  const mergeBudget = Math.min(options.vocabSize - 258, options.maxMerges ?? 1000);

  // Word counts over byte-level symbols.
  const wordCounts = new Map<string, number>();
  for (const match of options.corpus.matchAll(GPT2_PATTERN)) {
    const word = [...Buffer.from(match[0], 'utf8')].map((b) => byteChars[b]).join('');
    wordCounts.set(word, (wordCounts.get(word) ?? 0) + 1);
  }
  const words = [...wordCounts.entries()].map(([w, count]) => ({ symbols: [...w], count }));

  const vocab: Record<string, number> = {};
  byteChars.forEach((c, b) => (vocab[c] = b));
  const merges: string[] = [];
  while (merges.length < mergeBudget) {
    const pairCounts = new Map<string, number>();
    for (const { symbols, count } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = symbols[i] + ' ' + symbols[i + 1];
        pairCounts.set(key, (pairCounts.get(key) ?? 0) + count);
      }
    }
    let best: string | null = null;
    let bestCount = 1; // a pair seen once teaches nothing
    for (const [key, count] of pairCounts) {
      if (count > bestCount || (count === bestCount && best !== null && key < best)) {
        best = key;
        bestCount = count;
      }
    }
    if (best === null) break;
    const [a, b] = best.split(' ');
    const merged = a + b;
    if (merged in vocab) break; // cannot happen with distinct pairs; guards the id space
    vocab[merged] = 256 + merges.length;
    merges.push(best);
    for (const word of words) {
      const s = word.symbols;
      for (let i = 0; i + 1 < s.length; i++) {
        if (s[i] === a && s[i + 1] === b) s.splice(i, 2, merged);
      }
    }
  }

  const bosId = 256 + merges.length;
  const eosId = bosId + 1;
  const special = (id: number, content: string) => ({
    id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  });
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(bosId, bosToken), special(eosId, eosToken)],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
  const tokenizerConfig = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: bosToken,
    eos_token: eosToken,
    add_bos_token: false,
    clean_up_tokenization_spaces: false,
  };
  return { tokenizerJson, tokenizerConfig, bosId, eosId, size: eosId + 1 };
}
