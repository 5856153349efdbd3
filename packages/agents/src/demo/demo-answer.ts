export interface PromptFacts {
  words: number;
  characters: number;
  readingSeconds: number;
}

const VOCABULARY = (
  "the stream keeps every event in order so a reader who reconnects resumes from its last id " +
  "without gaps workers publish tokens status and tool calls through one atomic script while " +
  "gateways fan them out to browsers and command lines replay fills what was missed live delivery " +
  "carries the rest a run ends with done and nothing is lost across restarts or scale out"
).split(" ");

/**
 * The demo's answer as exactly `maxTokens` tokens (word pieces with their leading space): a first
 * sentence about the prompt, then filler drawn from a PRNG seeded by the prompt — the same prompt
 * always gives the same answer.
 */
export function demoAnswer(
  prompt: string,
  facts: PromptFacts,
  maxTokens: number,
  previous?: string,
): string[] {
  const excerpt = (text: string) =>
    (text.length > 40 ? `${text.slice(0, 40).trimEnd()}…` : text).replace(/\s+/g, " ");
  const lead =
    (previous === undefined ? "" : `Earlier you asked "${excerpt(previous)}". `) +
    `You asked about "${excerpt(prompt)}" (${facts.words} words, ${facts.characters} characters); ` +
    `reading it takes about ${facts.readingSeconds} seconds at 200 words per minute.`;
  const words = lead.split(" ");
  const random = mulberry32(fnv1a(prompt));
  while (words.length < maxTokens) {
    const length = 6 + Math.floor(random() * 9);
    for (let i = 0; i < length; i++) {
      const word = VOCABULARY[Math.floor(random() * VOCABULARY.length)] ?? "stream";
      words.push(i === 0 ? capitalize(word) : i === length - 1 ? `${word}.` : word);
    }
  }
  return words.slice(0, maxTokens).map((w, i) => (i === 0 ? w : ` ${w}`));
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
