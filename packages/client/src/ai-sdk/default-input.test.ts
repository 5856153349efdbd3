import type { UIMessage } from "ai";
import { describe, expect, it } from "vitest";
import { defaultInput } from "./threadline-chat-transport.js";

const msg = (role: UIMessage["role"], ...texts: string[]): UIMessage => ({
  id: `${role}-${texts.join()}`,
  role,
  parts: texts.map((text) => ({ type: "text", text })),
});

describe("defaultInput: what a useChat turn sends as the run's input", () => {
  it("sends the last user message as the prompt, alone on the first turn", () => {
    expect(defaultInput({ messages: [msg("user", "Hello ", "there")] })).toEqual({ prompt: "Hello there" });
  });

  it("sends the earlier turns as text, oldest first, skipping system and empty messages", () => {
    const messages: UIMessage[] = [
      msg("system", "be brief"),
      msg("user", "Hi"),
      { id: "a1", role: "assistant", parts: [{ type: "step-start" }, { type: "text", text: "Hello!" }] },
      { id: "a2", role: "assistant", parts: [{ type: "step-start" }] },
      msg("user", "And now?"),
    ];
    expect(defaultInput({ messages })).toEqual({
      prompt: "And now?",
      messages: [
        { role: "user", content: "Hi" },
        { role: "assistant", content: "Hello!" },
      ],
    });
  });

  it("refuses a chat whose last message is not the user's", () => {
    expect(() => defaultInput({ messages: [msg("user", "Hi"), msg("assistant", "Hello")] })).toThrow(
      /no user message/,
    );
  });
});
