import type { ThreadlineClient, ThreadMessages } from "@threadline/client";
import { useEffect, useState } from "react";
import { errorMessage } from "./format.js";

export interface ConversationProps {
  client: ThreadlineClient;
  threadId: string;
  enabled: boolean;
  /** Changes when a run of the thread ends: the conversation reloads. */
  refreshKey: string;
  onSelectRun: (runId: string) => void;
}

/**
 * The thread as a conversation (`GET /v1/threads/:id/messages`): each run's prompt and final answer with
 * its tool calls, read from Redis and the archive, so a thread Redis no longer holds still reads whole.
 */
export function Conversation({ client, threadId, enabled, refreshKey, onSelectRun }: ConversationProps) {
  const [messages, setMessages] = useState<ThreadMessages["messages"] | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);

  // biome-ignore lint/correctness/useExhaustiveDependencies: refreshKey only triggers a reload
  useEffect(() => {
    if (!enabled) return;
    let stale = false;
    setMessages(undefined);
    client
      .thread(threadId)
      .messages()
      .then(
        (body) => {
          if (stale) return;
          setMessages(body.messages);
          setError(undefined);
        },
        (failure: unknown) => {
          if (!stale) setError(failure);
        },
      );
    return () => {
      stale = true;
    };
  }, [client, threadId, enabled, refreshKey]);

  return (
    <section aria-labelledby="conversation-title" className="conversation">
      <h3 id="conversation-title">Conversation</h3>
      {error ? (
        <p className="error" role="alert" id="conversation-error">
          Could not load the conversation: {errorMessage(error)}
        </p>
      ) : null}
      {messages?.length === 0 ? <p className="hint">No turns yet.</p> : null}
      <ol id="conversation" className="messages">
        {(messages ?? []).map((message) => (
          <li key={`${message.runId}-${message.role}`} className={`message message-${message.role}`}>
            <div className="message-head">
              <span className="label">{message.role === "user" ? "user" : "assistant"}</span>
              <button
                type="button"
                className="link"
                title="show this run above"
                onClick={() => onSelectRun(message.runId)}
              >
                run {message.runId.slice(-8)}
              </button>
            </div>
            <pre className="message-text">{message.content}</pre>
            {message.toolCalls?.length ? (
              <p className="hint message-tools">tools: {message.toolCalls.map((c) => c.name).join(", ")}</p>
            ) : null}
          </li>
        ))}
      </ol>
    </section>
  );
}
