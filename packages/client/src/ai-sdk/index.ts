export type { ThreadlineFinish, UiChunk } from "@threadline/protocol";
export {
  createThreadlineChatTransport,
  defaultInput,
  type ThreadlineChatTransportOptions,
} from "./threadline-chat-transport.js";
