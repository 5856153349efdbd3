// Worker threads do not inherit tsx's loader hooks: register them, then load the TypeScript thread.
import { register } from "tsx/esm/api";

register();
await import("./client-worker.ts");
