// The run reducer lives in packages/protocol (the gateway's `?snapshot=1` folds with the same one).
export {
  type AgentView,
  CancelledRun,
  CreatedRun,
  createReducedRun as createRunView,
  HistoryPage,
  parseRetryAfter,
  type ReducedRun as RunView,
  RunList,
  reduceRun,
  type StatusEntry,
  ThreadList,
  ThreadMessages,
  type ToolCallState as ToolCallView,
} from "@threadline/protocol";
export { backoffDelay } from "./backoff.js";
export { type BroadcastLocksOptions, createBroadcastLocks } from "./broadcast-locks.js";
export { DEFAULT_HEARTBEAT_TIMEOUT_MS, openEventStream, openRawEventStream } from "./event-stream.js";
export type { ChannelFactory, ChannelLike, LockManagerLike } from "./lock-manager.js";
export { createMemoryLocks } from "./memory-locks.js";
export { createThreadView, reduceThread, type ThreadView } from "./reduce-thread.js";
export {
  createSharedThreadStream,
  type ShareAcrossTabsOptions,
  type SharedThreadSource,
} from "./shared-thread-stream.js";
export {
  type CreateRunOptions,
  createThreadlineClient,
  type ThreadEventsOptions,
  type ThreadHandle,
  type ThreadlineClient,
} from "./threadline-client.js";
export { ThreadlineError } from "./threadline-error.js";
export type {
  ConnectionState,
  ConnectionStateChange,
  EventItem,
  EventStreamOptions,
  FetchLike,
  GapItem,
  GetToken,
  RawSseMessage,
  StateReason,
  StreamFrom,
  StreamItem,
  ThreadlineClientOptions,
  TokenReason,
  WebSocketConstructor,
  WebSocketLike,
} from "./types.js";
export {
  type WatchChange,
  type WatchItem,
  type WatchOptions,
  type WatchStateChange,
  type WatchTransport,
  watchThreads,
} from "./watch.js";
