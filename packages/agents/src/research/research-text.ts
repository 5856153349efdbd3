/** What the research agents know about a prompt: its words and the terms it turns on. */
export interface KeyTerms {
  /** The prompt, shortened, in quotes: what the question is about. */
  topic: string;
  /** The two or three longest distinct words, longest first. */
  terms: string[];
  words: number;
}

const STOP_WORDS = new Set([
  "about",
  "after",
  "again",
  "should",
  "their",
  "there",
  "these",
  "those",
  "which",
  "while",
  "would",
  "could",
  "where",
  "what",
  "when",
  "with",
  "does",
  "that",
  "this",
  "from",
  "have",
  "your",
  "into",
]);

export function keyTerms(prompt: string): KeyTerms {
  const clean = prompt.replace(/\s+/g, " ").trim();
  const words = clean.split(" ").filter((w) => w.length > 0);
  const candidates = [
    ...new Set(
      words
        .map((w) => w.toLowerCase().replace(/[^\p{L}\p{N}-]/gu, ""))
        .filter((w) => w.length > 3 && !STOP_WORDS.has(w)),
    ),
  ].sort((a, b) => b.length - a.length || a.localeCompare(b));
  const terms = candidates.slice(0, 3);
  const short = clean.length > 60 ? `${clean.slice(0, 60).trimEnd()}…` : clean;
  return {
    topic: `"${short.replace(/[?.!]+$/, "")}"`,
    terms: terms.length > 0 ? terms : ["the question"],
    words: words.length,
  };
}

const list = (terms: string[]) =>
  terms.length <= 1 ? (terms[0] ?? "") : `${terms.slice(0, -1).join(", ")} and ${terms[terms.length - 1]}`;

/** The researcher's findings: what the question is about and what to define first. */
export function backgroundFindings(k: KeyTerms, counted: number): string {
  const [first, second] = k.terms;
  return [
    `The question ${k.topic} has ${counted} words and turns on ${list(k.terms)}.`,
    `Background first: ${first} is the idea everything else in it depends on, so it needs a definition before any comparison.`,
    second
      ? `Then ${second} should be explained in terms of ${first}, because that is the link the question asks about.`
      : `Then one concrete example of ${first} makes the definition stick.`,
  ].join(" ");
}

/** The critic's findings: the trade-off the answer must name. */
export function tradeoffFindings(k: KeyTerms): string {
  const [first, second = "simplicity"] = k.terms;
  return [
    `The main trade-off in ${k.topic} is between ${first} and ${second}.`,
    `Getting more of ${first} usually costs some ${second}, and the reverse holds as well.`,
    `A useful answer says which of the two a reader should give up in their situation, and why.`,
  ].join(" ");
}

/** The supervisor's answer, written from the two sub-agents' results. */
export function finalAnswer(k: KeyTerms, background: string, tradeoffs: string): string {
  const firstSentence = (text: string) => text.split(/(?<=\.)\s/)[0] ?? text;
  return [
    `Here is what my two researchers found about ${k.topic}.`,
    `Background: ${firstSentence(background.replace(/^The question \S.*? has/, "It has"))}`,
    `Trade-offs: ${firstSentence(tradeoffs)}`,
    `In short, start from a clear definition of ${k.terms[0]}, then decide which side of that trade-off matters more to you.`,
  ].join(" ");
}
