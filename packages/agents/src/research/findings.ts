/** What the research agent's sub-agents find in a prompt, and the sentences they report it in. */

const STOP_WORDS = new Set(
  (
    "a an and are as at be but by can could do does for from had has have how i if in into is it its " +
    "me my of on or our so than that the their them then there these they this to was we were what " +
    "when where which who why will with would you your about should"
  ).split(" "),
);

/** Up to three key terms: the most frequent words that are not stop words (first seen wins ties). */
export function keyTerms(prompt: string): { term: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const word of prompt.toLowerCase().match(/[\p{L}\p{N}][\p{L}\p{N}'-]*/gu) ?? []) {
    if (word.length < 3 || STOP_WORDS.has(word)) continue;
    counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return [...counts]
    .map(([term, count]) => ({ term, count }))
    .sort((a, b) => b.count - a.count)
    .slice(0, 3);
}

export function analystReport(
  words: number,
  characters: number,
  terms: { term: string; count: number }[],
): string {
  const size = `The question has ${words} ${words === 1 ? "word" : "words"} and ${characters} characters.`;
  if (terms.length === 0) return `${size} It uses only common words, so it has no key terms.`;
  const [top] = terms;
  const list = listOf(terms.map((t) => `"${t.term}"`));
  const repeat = top && top.count > 1 ? ` "${top.term}" comes up ${top.count} times.` : "";
  return `${size} Its key ${terms.length === 1 ? "term is" : "terms are"} ${list}.${repeat}`;
}

export function estimatorReport(readingSeconds: number, speakingSeconds: number): string {
  return (
    `Read silently at 200 words per minute it takes about ${readingSeconds} seconds; ` +
    `read aloud at 130 words per minute, about ${speakingSeconds} seconds.`
  );
}

export function supervisorAnswer(
  prompt: string,
  words: number,
  terms: { term: string }[],
  analyst: string,
  estimator: string,
): string {
  const excerpt = (prompt.length > 60 ? `${prompt.slice(0, 60).trimEnd()}…` : prompt).replace(/\s+/g, " ");
  const size = words < 12 ? "a short" : words < 60 ? "a medium-length" : "a long";
  const focus = terms[0] ? `centred on "${terms[0].term}"` : "made of common words";
  return (
    `I asked two researchers about "${excerpt}". The analyst reports: ${analyst} ` +
    `The estimator reports: ${estimator} Taken together, it is ${size} question ${focus}.`
  );
}

/** Word pieces with their leading space, as the agents stream them. */
export function tokensOf(text: string): string[] {
  return text.split(" ").map((w, i) => (i === 0 ? w : ` ${w}`));
}

function listOf(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}
