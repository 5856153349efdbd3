-- The durable archive behind Redis: every thread, run and event the replay log ever held.
-- Written only by the archiver (packages/archive/src/archive-writer.ts); read by the gateway and
-- the API when Redis no longer has what a client asks for.

CREATE TABLE threads (
  thread_id   text PRIMARY KEY,
  -- JWT `sub` of the creator (Redis meta `owner`); null for threads only ever hand-published to.
  owner       text,
  created_at  timestamptz NOT NULL,
  updated_at  timestamptz NOT NULL,
  last_run_id text,
  -- The archive cursor: the last replay-log entry id copied (`<ms>-<n>`, split so it sorts).
  cursor_ms   bigint NOT NULL DEFAULT 0,
  cursor_n    bigint NOT NULL DEFAULT 0
);
CREATE INDEX threads_owner_updated ON threads (owner, updated_at DESC, thread_id DESC);
CREATE INDEX threads_updated ON threads (updated_at);

CREATE TABLE runs (
  thread_id   text NOT NULL REFERENCES threads (thread_id) ON DELETE CASCADE,
  run_id      text NOT NULL,
  agent       text NOT NULL,
  status      text NOT NULL,
  created_at  timestamptz NOT NULL,
  started_at  timestamptz,
  finished_at timestamptz,
  attempts    integer NOT NULL DEFAULT 0,
  input       jsonb,
  output      jsonb,
  error       jsonb,
  metadata    jsonb,
  -- Set once the run's `done` is archived: from then on the archive holds the whole run.
  archived_at timestamptz,
  PRIMARY KEY (thread_id, run_id)
);
CREATE INDEX runs_thread_created ON runs (thread_id, created_at DESC);

CREATE TABLE events (
  thread_id text NOT NULL REFERENCES threads (thread_id) ON DELETE CASCADE,
  id_ms     bigint NOT NULL,
  id_n      bigint NOT NULL,
  id        text NOT NULL,
  seq       integer,
  run_id    text,
  type      text NOT NULL,
  ts        bigint NOT NULL,
  -- The exact bytes the gateway serves (`data:` line), id spliced in: text, not jsonb, which would
  -- reorder keys.
  json      text NOT NULL,
  PRIMARY KEY (thread_id, id_ms, id_n)
);
CREATE INDEX events_run ON events (thread_id, run_id, id_ms, id_n);
