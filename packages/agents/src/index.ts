export { ChatHistory, toModelMessages } from "./ai-sdk/chat-history.js";
export { type AiSdkAgentSpec, type AiSdkCall, createAiSdkAgent } from "./ai-sdk/create-ai-sdk-agent.js";
export { DEFAULT_AGENT, type DefaultAgentsOptions, defaultAgents } from "./default-agents.js";
export { createDemoAgent, type DemoAgentOptions } from "./demo/demo-agent.js";
export { DemoInput } from "./demo/demo-input.js";
export { mergeStreams } from "./merge-streams.js";
export { createAnthropicAgent } from "./providers/anthropic-agent.js";
export { createLlmAgents } from "./providers/llm-agents.js";
export type { LlmAgentDeps, LlmConfig, LlmEndpoint, ModelPrices } from "./providers/llm-config.js";
export { LlmInput } from "./providers/llm-input.js";
export { createOpenAiAgent } from "./providers/openai-agent.js";
export { type ErrorSource, PROVIDER_ERRORS } from "./providers/provider-errors.js";
export {
  type AgentInfo,
  type AgentRegistry,
  createAgentRegistry,
  type InputIssue,
  type InputValidation,
} from "./registry.js";
export {
  createResearchAgent,
  type ResearchAgentOptions,
  ResearchInput,
  SUPERVISOR,
} from "./research/research-agent.js";
export { calculator } from "./tools/calculator.js";
export { defaultTools } from "./tools/default-tools.js";
export { ArithmeticError, evaluateArithmetic } from "./tools/evaluate-arithmetic.js";
export { type ToolSchema, toJsonSchema } from "./tools/to-json-schema.js";
export { defineTool, type Tool, type ToolContext, ToolError } from "./tools/tool.js";
export { createToolRegistry, type ToolRegistry } from "./tools/tool-registry.js";
export { wordCount } from "./tools/word-count.js";
export { type Agent, type AgentContext, AgentError, type AgentEvent } from "./types.js";
