-- Files taken with a warning (e.g. non-ASCII bytes in a header, read as U+FFFD): the file
-- is catalogued, and what was not quite right is said on it instead of silently repaired.
ALTER TABLE qc.files ADD COLUMN warnings text[] NOT NULL DEFAULT '{}';
