import { appendFileSync, readFileSync } from "node:fs";
import { defineTool } from "@threadline/agents";
import { z } from "zod";
import { runWorkerService } from "../worker-service.js";

// A test entry point: the worker exactly as main.ts runs it, whose agents may also call `record_visit`,
// a tool with a side effect a crash test can count from outside the process (it survives a SIGKILL):
// each run appends one line to VISITS_FILE.
const visitsFile = z.string().min(1).parse(process.env.VISITS_FILE);

const recordVisit = defineTool({
  name: "record_visit",
  description: "Records a visit in the guest book and returns how many visits it holds.",
  inputSchema: z.object({ visitor: z.string().min(1).max(100) }),
  async run({ visitor }) {
    appendFileSync(visitsFile, `${visitor}\n`);
    return { visitor, visits: readFileSync(visitsFile, "utf8").split("\n").filter(Boolean).length };
  },
});

await runWorkerService(process.env, { tools: [recordVisit] });
