import { defineRunsSuite } from "./runs-suite.js";

// Standalone Redis; tests/scale/runs-cluster.test.ts runs the same suite on a Redis Cluster.
defineRunsSuite();
