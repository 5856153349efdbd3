import { useChat } from "@ai-sdk/react";
import { createThreadlineClient } from "@threadline/client";
import { createThreadlineChatTransport, defaultInput } from "@threadline/client/ai-sdk";
import { type FormEvent, useMemo, useState } from "react";
import type { ExampleConfig } from "./config.js";
import { Message } from "./message.js";
import { threadIdFromLocation } from "./thread-id.js";

/** A chat page: `useChat` with Threadline's transport; the stream survives reloads and gateway restarts. */
export function App({ config }: { config: ExampleConfig }) {
  const threadId = useMemo(threadIdFromLocation, []);
  const transport = useMemo(() => {
    const client = createThreadlineClient({
      apiUrl: config.apiUrl,
      gatewayUrl: config.gatewayUrl,
      getToken: () => config.token,
    });
    // `?tps=` slows the demo agent down (to watch a reload or a gateway restart mid-answer).
    const tps = Number(new URL(window.location.href).searchParams.get("tps") ?? "");
    const demoPace = config.agent === "demo" && tps > 0 ? { tokensPerSecond: tps, maxTokens: 200 } : {};
    return createThreadlineChatTransport({
      client,
      agent: config.agent,
      input: ({ messages }) => ({ ...defaultInput({ messages }), ...demoPace }),
    });
  }, [config]);
  const { messages, sendMessage, status, stop, error } = useChat({ id: threadId, transport, resume: true });
  const [draft, setDraft] = useState("");
  const busy = status === "submitted" || status === "streaming";

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (!draft.trim() || busy) return;
    void sendMessage({ text: draft.trim() });
    setDraft("");
  };

  return (
    <main>
      <header>
        <h1>useChat on Threadline</h1>
        <p className="muted">
          thread <code id="thread-id">{threadId}</code> · agent <code>{config.agent}</code> · chat{" "}
          <span id="chat-status">{status}</span>
        </p>
      </header>
      <ol id="messages">
        {messages.map((message) => (
          <Message key={message.id} message={message} />
        ))}
      </ol>
      {error ? (
        <p className="error" role="alert">
          {error.message}
        </p>
      ) : null}
      <form onSubmit={submit}>
        <input
          id="prompt"
          aria-label="Message"
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          placeholder="Ask something…"
        />
        <button id="send" type="submit" disabled={busy}>
          Send
        </button>
        <button id="stop" type="button" disabled={!busy} onClick={() => void stop()}>
          Stop
        </button>
      </form>
    </main>
  );
}
