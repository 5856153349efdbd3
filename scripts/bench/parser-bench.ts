/**
 * Why the load client parses SSE by hand: events/s of the lean reader vs eventsource-parser on the
 * same Threadline-shaped stream, cut into 16 KiB chunks. Usage: tsx scripts/bench/parser-bench.ts
 */
import { createParser } from "eventsource-parser";
import { createSseDataReader, readBenchContent } from "./lib/sse-parse.js";

const events = 200_000;
const frame = (i: number) =>
  `id: 1732300000000-${i}\nevent: token\ndata: {"id":"1732300000000-${i}","type":"token","threadId":"bench-1","runId":"bench","ts":1732300000000,"content":"1|${i}|123456789","seq":${i}}\n\n`;
const text = Array.from({ length: events }, (_, i) => frame(i)).join("");
const chunks: string[] = [];
for (let i = 0; i < text.length; i += 16_384) chunks.push(text.slice(i, i + 16_384));

function time(name: string, run: (onData: (data: string) => void) => (chunk: string) => void): number {
  let best = 0;
  for (let round = 0; round < 5; round++) {
    let seen = 0;
    const push = run((data) => {
      if (readBenchContent(data)) seen++;
    });
    const start = performance.now();
    for (const chunk of chunks) push(chunk);
    const rate = seen / ((performance.now() - start) / 1000);
    if (seen !== events) throw new Error(`${name} saw ${seen} of ${events} events`);
    best = Math.max(best, rate);
  }
  console.log(`| ${name} | ${Math.round(best)} |`);
  return best;
}

console.log("| parser | events/s (best of 5) |\n|---|---|");
const lean = time("lean reader (scripts/bench/lib/sse-parse.ts)", (onData) => {
  const reader = createSseDataReader(onData);
  return (chunk) => reader.push(chunk);
});
const esp = time("eventsource-parser 3.1.1", (onData) => {
  const parser = createParser({ onEvent: (event) => onData(event.data) });
  return (chunk) => parser.feed(chunk);
});
console.log(`lean / eventsource-parser = ${(lean / esp).toFixed(2)}×`);
