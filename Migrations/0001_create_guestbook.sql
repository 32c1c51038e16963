-- The sample Guestbook module's table.
-- migrate:up
CREATE TABLE guestbook_entries (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    message TEXT NOT NULL CHECK (length(message) BETWEEN 1 AND 1000),
    created_at TEXT NOT NULL
);
CREATE INDEX guestbook_entries_created_at ON guestbook_entries (created_at);

-- migrate:down
DROP TABLE guestbook_entries;
