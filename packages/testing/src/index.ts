export { eventually } from "./eventually.js";
export {
  AnthropicStream,
  anthropicErrorReply,
  anthropicTextReply,
  startFakeAnthropicServer,
} from "./fake-anthropic-server.js";
export {
  type FakeLlmServer,
  type FakeReply,
  type RecordedRequest,
  type ResponseRecord,
  startFakeLlmServer,
} from "./fake-llm-server.js";
export { OpenAiResponsesStream } from "./fake-openai-responses.js";
export {
  OpenAiStream,
  openAiErrorReply,
  openAiTextReply,
  startFakeOpenAiServer,
} from "./fake-openai-server.js";
export {
  freePort,
  type ManagedProcess,
  type ProcessOptions,
  startProcess,
  waitForHttp,
} from "./processes.js";
export { openRawSocket, type RawSocket } from "./raw-socket.js";
export { type RedisClusterHandle, startRedisCluster } from "./redis-cluster.js";
export { type RedisFixture, useTestRedis } from "./redis-fixture.js";
export { type RedisServer, type RedisServerOptions, startRedisServer } from "./redis-server.js";
export {
  type ServiceInstance,
  type ServiceKind,
  type ServiceProcessOptions,
  startServiceProcess,
} from "./service-process.js";
export { openSse, type SseClientOptions, type SseConnection } from "./sse-client.js";
export { createTestDatabase, type TestDatabase } from "./test-database.js";
export { childEnv, type TestEnv, testEnv } from "./test-env.js";
export { TEST_ENV_KEYS } from "./test-env-keys.js";
export { getTestRedis, type TestRedis } from "./test-redis.js";
export { uniqueId } from "./unique-id.js";
