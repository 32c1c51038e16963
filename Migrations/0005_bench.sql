-- Tables of the TechEmpower-style benchmark module (Sources/Modules/Bench):
-- World with 10,000 rows of random numbers 1...10,000 and Fortune with the
-- twelve standard rows. The module itself is only on with --bench.
-- migrate:up
CREATE TABLE World (
    id INTEGER NOT NULL PRIMARY KEY,
    randomNumber INTEGER NOT NULL DEFAULT 0
);
INSERT INTO World (id, randomNumber)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
SELECT i, abs(random()) % 10000 + 1 FROM n;
CREATE TABLE Fortune (
    id INTEGER NOT NULL PRIMARY KEY,
    message VARCHAR(2048) NOT NULL
);
-- migrate:up:postgres
CREATE TABLE World (
    id INTEGER NOT NULL PRIMARY KEY,
    randomNumber INTEGER NOT NULL DEFAULT 0
);
INSERT INTO World (id, randomNumber)
SELECT i, least(floor(random() * 10000 + 1), 10000) FROM generate_series(1, 10000) AS s(i);
CREATE TABLE Fortune (
    id INTEGER NOT NULL PRIMARY KEY,
    message VARCHAR(2048) NOT NULL
);

-- migrate:down
DROP TABLE Fortune;
DROP TABLE World;
