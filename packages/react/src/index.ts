export { type ThreadStream, type UseThreadStreamOptions, useThreadStream } from "./use-thread-stream.js";
export { type ThreadsStream, type UseThreadsOptions, useThreads } from "./use-threads.js";
