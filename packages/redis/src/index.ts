export {
  type ArchiveFeed,
  type ArchiveFeedOptions,
  createArchiveFeed,
  type DirtyThread,
  withArchiveFeed,
} from "./archive-feed.js";
export { recordArchiveProgress } from "./archive-retention.js";
export { type CancelRunDeps, type CancelRunResult, cancelRun } from "./cancel-run.js";
export {
  baseOptions,
  type ConnectionOptions,
  closeRedisClient,
  createRedisClient,
  isCluster,
  type RedisClient,
  type RedisConnectionConfig,
} from "./connections.js";
export {
  type ControlHandlers,
  type ControlSubscription,
  sendControl,
  subscribeControl,
} from "./control-channel.js";
export { DELETED_RUN_FENCE_SECONDS, type DeletedThread, deleteThreadKeys } from "./delete-thread.js";
export {
  createExternalRuns,
  type ExternalRunRef,
  type ExternalRuns,
  type RunPublishState,
} from "./external-runs.js";
export { keys, threadIdOfLog } from "./keys.js";
export { createLoginThrottle, type LoginThrottle } from "./login-throttle.js";
export { type PublishRefusal, PublishRefusedError } from "./publish-refused.js";
export {
  type BatchItem,
  type BatchOptions,
  type BatchPublished,
  createEventPublisher,
  type EventPublisher,
  IDEMPOTENCY_WINDOW,
  type Published,
  type PublisherOptions,
  type PublishOptions,
  type PublishTarget,
} from "./publisher.js";
export {
  type AnchoredLogPage,
  compareIds,
  LOG_START,
  type LogEntry,
  type LogPage,
  readLog,
  readLogAfter,
  readLogEntry,
  readLogTail,
  scanThreadLogs,
  waitForLogEntries,
} from "./replay-log.js";
export { MAX_RETRY_AFTER_MS, RUN_BACKOFF_TYPE, runBackoffStrategy } from "./run-backoff.js";
export { type RunCheckpoint, readLatestCheckpoint } from "./run-checkpoints.js";
export {
  createRunLifecycle,
  type NewRun,
  RUNS_INDEX_CAP,
  type RunLifecycle,
  type RunLifecycleOptions,
  type RunPatch,
  type RunRef,
  renewIntervalMs,
  type TransitionEvent,
} from "./run-lifecycle.js";
export {
  createRunRecords,
  type InvalidRunRecord,
  type RunRecords,
  type RunRecordsOptions,
} from "./run-records.js";
export {
  createRunsQueue,
  type EnqueueOptions,
  type RemoveQueuedResult,
  RUN_JOB_NAME,
  RUNS_QUEUE_NAME,
  type RunsQueue,
  type RunsQueueConfig,
} from "./runs-queue.js";
export { publishScriptSource } from "./scripts.js";
export {
  resubscribedEvent,
  subscribeThread,
  type ThreadSubscription,
  type ThreadSubscriptionHandlers,
} from "./subscribe-thread.js";
export { onSubscriberLost } from "./subscriber-lost.js";
export {
  createThreadMeta,
  type ThreadClaim,
  type ThreadMeta,
  ThreadOwnedError,
} from "./thread-meta.js";
export { createThreadWatchers, type ThreadWatchers } from "./thread-watchers.js";
