export { type ThreadStream, type UseThreadStreamOptions, useThreadStream } from "./use-thread-stream.js";
