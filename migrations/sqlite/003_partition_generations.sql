-- A closed partition is rewritten into compressed blocks in a new file (its next generation); the catalogue
-- names the file that holds each partition, so that switching to the new file is one committed update and a
-- crash on either side of it leaves one whole file serving.

ALTER TABLE partitions ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
