-- CloudCrowd-C schema. Mirrors the tables of the Ruby original (jobs,
-- work_units, node_records, black_listed_actions, schema_migrations) so
-- existing reporting queries keep working; extra columns are additions.
-- Timestamps carry microseconds (DATETIME(6)) so time_taken is exact.
-- Status codes: 1 processing, 2 succeeded, 3 failed, 4 splitting, 5 merging.
-- Load with `crowd load_schema` (or `make schema` against a running stack).

SET NAMES utf8mb4;

DROP TABLE IF EXISTS work_units;
DROP TABLE IF EXISTS jobs;
DROP TABLE IF EXISTS node_records;
DROP TABLE IF EXISTS black_listed_actions;
DROP TABLE IF EXISTS schema_migrations;

CREATE TABLE jobs (
  id               BIGINT NOT NULL AUTO_INCREMENT,
  status           TINYINT NOT NULL,
  inputs           LONGTEXT NOT NULL,
  action           VARCHAR(255) NOT NULL,
  options          MEDIUMTEXT NOT NULL,
  outputs          LONGTEXT NULL,
  time             DOUBLE NULL,              -- seconds, once complete
  callback_url     VARCHAR(2048) NULL,
  email            VARCHAR(255) NULL,
  -- additions: unit counters kept in the same transactions that create,
  -- finish and remove units (so no hot path counts work_units rows), and
  -- callback delivery state (attempts, next try)
  units_total      BIGINT NOT NULL DEFAULT 0, -- rows in work_units
  units_done       BIGINT NOT NULL DEFAULT 0, -- of them succeeded or failed
  callback_attempts INT NOT NULL DEFAULT 0,
  callback_at      DATETIME(6) NULL,         -- next callback try; NULL = none due
  created_at       DATETIME(6) NOT NULL,
  updated_at       DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  KEY index_jobs_on_status (status),
  KEY index_jobs_on_callback_at (callback_at),
  KEY index_jobs_on_updated_at (updated_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE work_units (
  id               BIGINT NOT NULL AUTO_INCREMENT,
  status           TINYINT NOT NULL,
  job_id           BIGINT NOT NULL,
  input            LONGTEXT NOT NULL,
  action           VARCHAR(255) NOT NULL,
  attempts         INT NOT NULL DEFAULT 0,
  node_record_id   BIGINT NULL,
  worker_pid       INT NULL,
  reservation      INT NULL,
  time             DOUBLE NULL,
  output           LONGTEXT NULL,
  -- additions: input order (outputs are returned in it; a split unit's
  -- outputs get position*1000000+k), whether `input` is JSON text rather
  -- than a plain string, lease deadline of an assignment, earliest next
  -- dispatch (retry backoff), last node tried
  position         BIGINT NOT NULL DEFAULT 0,
  input_is_json    TINYINT(1) NOT NULL DEFAULT 0,
  lease_until      DATETIME(6) NULL,
  available_at     DATETIME(6) NULL,
  last_node_id     BIGINT NULL,
  -- addition: who may report a result. token: the secret of the current
  -- assignment (set by the reserving UPDATE, sent with the unit; our
  -- node's worker returns it); last_token / last_pid: the token and pid
  -- of the last attempt whose own report was recorded, so that the same
  -- report received again is recognised and recorded once
  token            CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NULL,
  last_token       CHAR(32) CHARACTER SET ascii COLLATE ascii_bin NULL,
  last_pid         INT NULL,
  -- addition: the deadline of a reservation (set with it, cleared with
  -- it): past it, any dispatcher's pass releases the unit, so a
  -- dispatcher that died mid-pass strands nothing for long
  reserved_until   DATETIME(6) NULL,
  created_at       DATETIME(6) NOT NULL,
  updated_at       DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  KEY index_work_units_available (status, reservation, node_record_id, id),
  KEY index_work_units_on_reserved_until (reserved_until),
  KEY index_work_units_on_reservation (reservation),
  KEY index_work_units_on_job_id_status (job_id, status),
  KEY index_work_units_on_node_record_id (node_record_id),
  KEY index_work_units_on_lease_until (lease_until)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE node_records (
  id               BIGINT NOT NULL AUTO_INCREMENT,
  host             VARCHAR(255) NOT NULL,    -- "name:port", as the node says
  ip_address       VARCHAR(64) NOT NULL,
  port             INT NOT NULL,
  enabled_actions  TEXT NOT NULL,
  busy             TINYINT(1) NOT NULL DEFAULT 0,
  tag              VARCHAR(255) NULL,
  max_workers      INT NULL,
  -- addition: identity of the node process (changes when it restarts)
  instance         VARCHAR(64) NULL,
  -- additions: central owns capacity and liveness.
  -- slots_used: units assigned to the node (work_units.node_record_id =
  -- id), changed in the same statement as each of those units, so it
  -- equals their count in every committed state (see node_record.c).
  -- check_in_interval: seconds between the node's check-ins (announced,
  -- else 300), it is dropped after node_expiry_intervals of them.
  -- bench_until, bench_s: a node that did not answer POST /work gets no
  -- work until bench_until (bench_s: that bench's length, doubling from 5
  -- to 300 s, 0 once a send succeeds or the node checks in)
  slots_used       INT NOT NULL DEFAULT 0,
  check_in_interval INT NOT NULL DEFAULT 300,
  bench_until      DATETIME(6) NULL,
  bench_s          INT NOT NULL DEFAULT 0,
  created_at       DATETIME(6) NOT NULL,
  updated_at       DATETIME(6) NOT NULL,     -- last sign of life: check-in,
                                             -- accepted POST /work or result
  PRIMARY KEY (id),
  UNIQUE KEY index_node_records_on_host (host)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE black_listed_actions (
  id               BIGINT NOT NULL AUTO_INCREMENT,
  action           VARCHAR(255) NOT NULL,
  created_at       DATETIME(6) NOT NULL,
  updated_at       DATETIME(6) NOT NULL,
  -- addition: when the entry lapses by itself (POST /blacklist with
  -- `for`); NULL: listed until removed. Past it the entry is ignored
  -- everywhere (dispatch too), and deleted lazily by the next add or remove.
  expires_at       DATETIME(6) NULL,
  PRIMARY KEY (id),
  UNIQUE KEY index_black_listed_actions_on_action (action)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE schema_migrations (
  version          VARCHAR(255) NOT NULL,
  PRIMARY KEY (version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Keep in step with CC_SCHEMA_VERSION in lib/core/db.h.
INSERT INTO schema_migrations (version) VALUES ('20261209000007');
