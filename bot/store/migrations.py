"""The store's schema: one list of migrations that both backends run (bot/database/ translates the few words that
differ)."""

# Each entry moves the schema from version i to i + 1. Never edit a shipped entry: append. Portable DDL only: TEXT,
# INTEGER (64-bit on both), REAL (8 bytes on both), explicit primary keys; bot/database/dialect.py translates the
# few words PostgreSQL spells differently (INTEGER PRIMARY KEY AUTOINCREMENT becomes an identity column).
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE deliveries (
        delivery_id TEXT PRIMARY KEY,
        event TEXT NOT NULL,
        action TEXT,
        installation_id INTEGER,
        received_at TEXT NOT NULL
    );
    CREATE TABLE verifications (
        verification_id TEXT PRIMARY KEY,
        repository TEXT NOT NULL,
        pull_request INTEGER NOT NULL,
        environment TEXT NOT NULL,
        started_at TEXT NOT NULL,
        completed_at TEXT,
        conclusion TEXT,
        document TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX verifications_by_pr ON verifications (repository, pull_request, started_at);
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        verification_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        data TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX events_by_verification ON events (verification_id, id);
    CREATE TABLE journal (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        verification_id TEXT NOT NULL,
        host TEXT NOT NULL,
        fault TEXT NOT NULL,
        undo TEXT NOT NULL,
        created_at TEXT NOT NULL,
        injected_at TEXT,
        restored_at TEXT,
        ok INTEGER,
        error TEXT,
        after_restart INTEGER NOT NULL DEFAULT 0
    );
    """,
    # Deliveries acknowledged (202) but given back unprocessed at shutdown: GitHub lists them as delivered, so only
    # this record tells the redelivery sweep (bot/redelivery.py) to have them redelivered.
    """
    CREATE TABLE released_deliveries (
        delivery_id TEXT PRIMARY KEY,
        released_at TEXT NOT NULL
    );
    """,
    # Issue 15 §2: one row per finished verification and one per measurement, written when it finishes
    # (bot/history.py), so history pages, the `history` command and regression baselines never parse documents.
    """
    CREATE TABLE verification_history (
        verification_id TEXT PRIMARY KEY,
        repository TEXT NOT NULL,
        pull_request INTEGER NOT NULL,
        environment TEXT NOT NULL,
        ref TEXT NOT NULL,
        sha TEXT NOT NULL,
        trigger TEXT NOT NULL,
        requested_by TEXT NOT NULL,
        started_at TEXT NOT NULL,
        completed_at TEXT NOT NULL,
        conclusion TEXT NOT NULL,
        regressions INTEGER NOT NULL
    );
    CREATE INDEX verification_history_by_environment ON verification_history (environment, completed_at);
    CREATE TABLE measurements (
        verification_id TEXT NOT NULL,
        environment TEXT NOT NULL,
        scenario TEXT NOT NULL,
        measurement TEXT NOT NULL,
        value DOUBLE PRECISION,
        passed INTEGER NOT NULL,
        regressed INTEGER NOT NULL,
        at TEXT NOT NULL,
        ref TEXT NOT NULL,
        sha TEXT NOT NULL,
        trigger TEXT NOT NULL,
        PRIMARY KEY (verification_id, scenario, measurement)
    );
    CREATE INDEX measurements_by_series ON measurements (environment, scenario, measurement, at);
    """,
    # Issue 15 §1: each environment's next scheduled due time (it outlives a restart), and every due time claimed
    # by exactly one scheduler (the first INSERT wins, also across replicas), with what became of it.
    """
    CREATE TABLE schedule_next (
        environment TEXT PRIMARY KEY,
        due_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE schedule_runs (
        environment TEXT NOT NULL,
        due_at TEXT NOT NULL,
        claimed_at TEXT NOT NULL,
        outcome TEXT NOT NULL,
        reason TEXT,
        verification_id TEXT,
        PRIMARY KEY (environment, due_at)
    );
    """,
    # Issue 16 §2, more than one replica: leases name who owns a verification, a (host, unit) or a singleton job,
    # until `expires_at` (epoch seconds; renewed by the owner's heartbeat). Workflow events a replica received are
    # relayed to the owner of the verification they concern through `relayed_events`. Portable SQL (SQLite, PG).
    """
    CREATE TABLE leases (
        name TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL,
        heartbeat_at DOUBLE PRECISION NOT NULL,
        note TEXT
    );
    CREATE INDEX leases_by_owner ON leases (owner);
    CREATE TABLE relayed_events (
        delivery_id TEXT PRIMARY KEY,
        replica TEXT NOT NULL,
        repository TEXT NOT NULL,
        installation_id INTEGER NOT NULL,
        kind TEXT NOT NULL,
        data TEXT NOT NULL,
        received_at DOUBLE PRECISION NOT NULL
    );
    CREATE INDEX relayed_events_by_time ON relayed_events (received_at);
    """,
)
