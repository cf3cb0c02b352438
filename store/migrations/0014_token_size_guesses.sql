-- Whether POST /upload may guess a file part's length from its request's
-- framing (Content-Length less the multipart framing the official clients
-- write), so that an object store receives the part as one request of a
-- known length instead of writing it aside and copying it. 0 once a guess
-- for the token was wrong: its requests are then written aside, which
-- needs no guess, and a client whose framing uplink does not know fails
-- at most one request.
ALTER TABLE upload_tokens ADD COLUMN size_guesses INTEGER NOT NULL DEFAULT 1 CHECK (size_guesses IN (0, 1));
