export {
  CancelledRun,
  CreatedRun,
  CreateRunAnswer,
  EventsQuery,
  ExternalRunCreated,
  HistoryPage,
  ListRunsQuery,
  RunList,
  RunParams,
  ThreadParams,
} from "./api-schemas.js";
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
  IdempotencyKey,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  MAX_PUBLISH_BATCH,
  PublishBody,
  PublishEvent,
  PublishResult,
} from "./publish.js";
export {
  ControlMessage,
  OnDisconnect,
  RUNNERS,
  RunJobData,
  Runner,
  RunRequest,
  RunStatus,
  RunView,
} from "./runs.js";
export { encodeSse, encodeSseComment, encodeSseRetry, SSE_KEEPALIVE } from "./sse.js";
export {
  createUiChunkMapper,
  encodeUiChunk,
  type ThreadlineFinish,
  UI_MESSAGE_STREAM_DONE,
  UI_MESSAGE_STREAM_HEADER,
  type UiChunk,
  type UiChunkMapper,
} from "./ui-message-chunks.js";
