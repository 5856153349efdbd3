import type { UIMessage } from "ai";

/** One chat message: folded reasoning, tool calls with input and output, the text, the run's status. */
export function Message({ message }: { message: UIMessage }) {
  const text = message.parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("");
  const reasoning = message.parts.flatMap((p) => (p.type === "reasoning" ? [p.text] : [])).join("");
  const tools = message.parts.filter((p) => p.type === "dynamic-tool");
  const status = message.parts.find((p) => p.type === "data-threadline-status") as
    | { data: { state?: string } }
    | undefined;
  const state = status?.data.state;
  return (
    <li className={`message ${message.role}`} data-message-id={message.id}>
      <div className="role">
        {message.role}
        {state ? (
          <span className="run-status" data-state={state}>
            {state}
          </span>
        ) : null}
      </div>
      {reasoning ? (
        <details className="reasoning">
          <summary>Reasoning</summary>
          <pre>{reasoning}</pre>
        </details>
      ) : null}
      {tools.map((tool) => (
        <div key={tool.toolCallId} className="tool" data-state={tool.state}>
          <code>{tool.toolName}</code> <span className="muted">{tool.state}</span>
          {tool.input !== undefined ? <pre>{JSON.stringify(tool.input)}</pre> : null}
          {tool.state === "output-available" ? <pre>→ {JSON.stringify(tool.output)}</pre> : null}
          {tool.state === "output-error" ? <pre className="error">{tool.errorText}</pre> : null}
        </div>
      ))}
      <p className="text">{text}</p>
    </li>
  );
}
