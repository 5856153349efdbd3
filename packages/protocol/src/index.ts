export { abortableSleep } from "./abortable-sleep.js";
export {
  CancelledRun,
  CreatedRun,
  CreateRunAnswer,
  CreateRunQuery,
  EventsQuery,
  ExternalRunCreated,
  HistoryPage,
  ListRunsQuery,
  ListThreadsQuery,
  RunList,
  RunParams,
  ThreadCursor,
  ThreadList,
  ThreadMessages,
  ThreadParams,
  ThreadSummaryView,
  ToolCallView,
} from "./api-schemas.js";
export { completeTokenEvent } from "./complete-token-event.js";
export {
  ERROR_CODES,
  ERRORS,
  ErrorBody,
  type ErrorChannel,
  ErrorCode,
  type ErrorSpec,
  errorBody,
  STREAM_ERROR_CODES,
} from "./error-catalog.js";
export {
  AgentName,
  AgentPath,
  CHECKPOINT_KIND,
  CheckpointDelta,
  CONTENT_SCHEMAS,
  DeltaContent,
  DeltaEvent,
  DoneContent,
  DoneEvent,
  Envelope,
  ErrorContent,
  ErrorEvent,
  EVENT_TYPES,
  type EventDraft,
  EventType,
  FINISH_REASONS,
  FinishReason,
  isFinalState,
  isTerminal,
  ReasoningDelta,
  RUN_STATES,
  RunState,
  StatusContent,
  StatusEvent,
  ThreadEvent,
  TokenContent,
  TokenEvent,
  Usage,
} from "./events.js";
export { EVENT_ID_PATTERN, EventId, ID_PATTERN, isEventId, isThreadId, RunId, ThreadId } from "./ids.js";
export { jsonDepth, MAX_JSON_DEPTH } from "./json-depth.js";
export {
  CHANNEL_PREFIX,
  DEFAULT_MAX_EVENT_BYTES,
  type ParsedMessage,
  type ParseOptions,
  parseChannelMessage,
  preview,
  type RejectReason,
} from "./parse-channel-message.js";
export {
  type DecodedVector,
  decodeVector,
  encodeVector,
  VECTOR_VERSION,
  vectorTag,
} from "./position-vector.js";
export {
  IdempotencyKey,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  MAX_PUBLISH_BATCH,
  PublishBody,
  PublishEvent,
  PublishResult,
} from "./publish.js";
export { reduceRun, SNAPSHOT_KIND, snapshotContent } from "./reduce-run.js";
export {
  type AgentStream,
  type AgentView,
  Cost,
  createReducedRun,
  emptyAgentStream,
  parseReducedRun,
  type ReducedRun,
  ReducedRunSchema,
  type ResumePoint,
  type StatusEntry,
  type ToolCallState,
} from "./reduced-run.js";
export { parseRetryAfter } from "./retry-after.js";
export {
  ControlMessage,
  OnDisconnect,
  RUNNERS,
  RunBudget,
  RunJobData,
  Runner,
  RunRequest,
  RunStatus,
  RunView,
} from "./runs.js";
export { sha256Hex } from "./sha256.js";
export {
  encodeSse,
  encodeSseComment,
  encodeSsePosition,
  encodeSseRetry,
  SSE_EVENT_NAMES,
  SSE_KEEPALIVE,
  type SseFraming,
  STREAM_PROTOCOL_HEADER,
  STREAM_PROTOCOL_VERSION,
  sseEventName,
} from "./sse.js";
export {
  createUiChunkMapper,
  encodeUiChunk,
  pushCoalesced,
  type ThreadlineFinish,
  UI_MESSAGE_STREAM_DONE,
  UI_MESSAGE_STREAM_HEADER,
  type UiChunk,
  type UiChunkMapper,
} from "./ui-message-chunks.js";
export { wellFormed, wellFormedJson } from "./well-formed.js";
export { encodeWsEvent, WS_CLOSE_CODES, WsClientMessage, WsServerMessage } from "./ws.js";
