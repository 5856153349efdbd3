import { type FormEvent, useState } from "react";

export interface RunFormValues {
  threadId: string;
  agent: string;
  prompt: string;
  tokensPerSecond: number;
}

export interface RunFormProps {
  defaultThreadId: string;
  busy: boolean;
  disabled: boolean;
  onStart: (values: RunFormValues) => void;
}

/** Starts a run (the demo agent by default) on a thread; Enter in any field submits. */
export function RunForm({ defaultThreadId, busy, disabled, onStart }: RunFormProps) {
  const [agent, setAgent] = useState("demo");
  const [prompt, setPrompt] = useState(
    "Count the words of this sentence and tell me how long it takes to read.",
  );
  const [rate, setRate] = useState("30");
  const [threadId, setThreadId] = useState("");
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const tokensPerSecond = Number(rate);
    onStart({
      threadId: threadId.trim() || defaultThreadId,
      agent: agent.trim() || "demo",
      prompt,
      tokensPerSecond: Number.isFinite(tokensPerSecond) && tokensPerSecond > 0 ? tokensPerSecond : 30,
    });
  };
  return (
    <form className="card" onSubmit={submit} aria-labelledby="run-title">
      <h2 id="run-title">Start a run</h2>
      <label htmlFor="prompt">Prompt</label>
      <input id="prompt" name="prompt" value={prompt} onChange={(e) => setPrompt(e.target.value)} required />
      <div className="row">
        <div>
          <label htmlFor="agent">Agent</label>
          <input id="agent" name="agent" value={agent} onChange={(e) => setAgent(e.target.value)} />
        </div>
        <div>
          <label htmlFor="rate">Tokens per second</label>
          <input
            id="rate"
            name="tokensPerSecond"
            type="number"
            min="1"
            max="1000"
            value={rate}
            onChange={(e) => setRate(e.target.value)}
          />
        </div>
      </div>
      <label htmlFor="run-thread">Thread id</label>
      <input
        id="run-thread"
        name="threadId"
        spellCheck={false}
        placeholder={defaultThreadId}
        value={threadId}
        onChange={(e) => setThreadId(e.target.value)}
        pattern="[A-Za-z0-9_\-]{1,128}"
        title="letters, digits, _ and -, up to 128"
      />
      <button type="submit" disabled={busy || disabled}>
        {busy ? "Starting…" : "Start run"}
      </button>
    </form>
  );
}
