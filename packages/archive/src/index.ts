export { deleteArchivedThread, purgeIdleThreads } from "./archive-cleanup.js";
export {
  type ArchivedEntry,
  type ArchiveReader,
  createArchiveReader,
  type ThreadSummary,
} from "./archive-reader.js";
export {
  type ArchiveSweep,
  type ArchiveSweepDeps,
  createArchiveSweep,
  type SweepResult,
} from "./archive-sweep.js";
export { type ArchiveWriter, type CopyResult, createArchiveWriter } from "./archive-writer.js";
export { type Archiver, type ArchiverDeps, createArchiver } from "./archiver.js";
export { type ArchiveConnectionOptions, type ArchiveSql, connectArchive, ensureDatabase } from "./connect.js";
export { createMergedLog, type MergedPage, type ReadPage } from "./merged-log.js";
export { migrateArchive } from "./migrate.js";
export { createThreadMemory, type MemoryBudget, type Turn } from "./thread-memory.js";
export { foldMessages, type ThreadMessage, type ToolCall, userText } from "./thread-messages.js";
export { createOwnerLookup, type OwnerLookup } from "./thread-owner.js";
