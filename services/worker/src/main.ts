import { runWorkerService } from "./worker-service.js";

// The only file that reads process.env.
await runWorkerService(process.env);
