import { z } from "zod";
import { defineTool } from "./tool.js";

const WordCountInput = z.object({
  text: z.string().max(1_000_000).describe("The text to count"),
});

/** Counts words, characters (code points) and lines of a text. */
export const wordCount = defineTool({
  name: "word_count",
  description: "Counts the words, characters and lines of a text.",
  inputSchema: WordCountInput,
  async run({ text }) {
    const words = text.split(/\s+/u).filter((w) => w.length > 0).length;
    const characters = [...text].length;
    const lines = text.length === 0 ? 0 : text.split(/\r\n|\r|\n/).length;
    return { words, characters, lines };
  },
});
