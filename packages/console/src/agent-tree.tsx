import type { AgentView } from "@threadline/client";

interface TreeNode {
  name: string;
  path: string[];
  /** The agent's own stream; absent for a path prefix that only groups sub-agents (the run's root agent). */
  agent: AgentView | undefined;
  children: TreeNode[];
}

/** The sub-agents of a multi-agent run as a tree (paths' prefixes), in order of their first event. */
export function buildAgentTree(agents: AgentView[]): TreeNode[] {
  const roots: TreeNode[] = [];
  const byKey = new Map<string, TreeNode>();
  for (const agent of agents) {
    let siblings = roots;
    agent.path.forEach((name, depth) => {
      const path = agent.path.slice(0, depth + 1);
      const key = path.join("/");
      let node = byKey.get(key);
      if (!node) {
        node = { name, path, agent: undefined, children: [] };
        byKey.set(key, node);
        siblings.push(node);
      }
      if (depth === agent.path.length - 1) node.agent = agent;
      siblings = node.children;
    });
  }
  return roots;
}

/** Each agent of the run with its status, its streamed text and its tool calls, nested by path. */
export function AgentTree({ agents }: { agents: AgentView[] }) {
  if (agents.length === 0) return null;
  return (
    <section aria-labelledby="agents-title">
      <h3 id="agents-title">Agents</h3>
      <ul id="agent-tree" className="agent-tree">
        {buildAgentTree(agents).map((node) => (
          <AgentNode key={node.path.join("/")} node={node} />
        ))}
      </ul>
    </section>
  );
}

function AgentNode({ node }: { node: TreeNode }) {
  const { agent } = node;
  return (
    <li data-agent={node.path.join("/")}>
      <div className="agent-head">
        <code className="agent-name">{node.name}</code>
        {agent?.status ? <span className={`pill pill-${agent.status}`}>{agent.status}</span> : null}
        {agent ? null : <span className="hint">root agent: its answer is above</span>}
        {agent && agent.toolCalls.length > 0 ? (
          <span className="hint">
            {agent.toolCalls.length} tool call{agent.toolCalls.length === 1 ? "" : "s"}:{" "}
            {agent.toolCalls.map((c) => c.name ?? c.toolCallId).join(", ")}
          </span>
        ) : null}
      </div>
      {agent?.reasoning ? <pre className="answer agent-reasoning">{agent.reasoning}</pre> : null}
      {agent?.text ? <pre className="answer agent-text">{agent.text}</pre> : null}
      {agent?.error ? (
        <p className="error">
          {agent.error.code}: {agent.error.message}
        </p>
      ) : null}
      {node.children.length > 0 ? (
        <ul>
          {node.children.map((child) => (
            <AgentNode key={child.path.join("/")} node={child} />
          ))}
        </ul>
      ) : null}
    </li>
  );
}
