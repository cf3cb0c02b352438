-- SQLite's 0012. How many visits an 'opened' event stands for: visits in
-- a row, each within a few minutes of the one before, fold into one
-- event, so that reloads do not bury a link's timeline while every visit
-- is counted. Every other event stands for one occurrence.
ALTER TABLE link_events ADD COLUMN visits BIGINT NOT NULL DEFAULT 1 CHECK (visits >= 1);
