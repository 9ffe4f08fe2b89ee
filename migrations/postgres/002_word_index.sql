-- The word index of closed partitions (DAYLOG_FULL_TEXT): a GIN index on daylog_words(message), built on each
-- partition once a newer one exists, by one replica at a time, with CREATE INDEX CONCURRENTLY on the partition
-- itself (never declared on `logs`: every partition, the open one too, would get it, and GIN on the open
-- partition slows inserts 6–15×). Lines written later into an indexed partition are indexed as they are written.
--
-- The index only narrows `match`: every line it finds is tested by log-model's word matcher, so it must find at
-- least every line the matcher keeps. The matcher's words (log-model's tokens(): runs of letters and digits,
-- without case or marks) are, in text that is all ASCII, exactly the runs of [a-z0-9] of the lower-cased text
-- (lower() under "C" folds A-Z only, which is all there is to fold in ASCII). So a line of ASCII text is indexed
-- under those words, each cut to its first 64 characters (a GIN key must fit in a third of a page; a longer
-- word is still found by its first 64), and any other line under 'not indexed', which no word can be (words
-- have no spaces), read whenever words are searched: text that is not ASCII, which the matcher folds itself, and
-- text of a megabyte or more (a tsvector holds less than a megabyte of words, and array_to_tsvector does not
-- check: past it, words are lost). `length` counts characters: the database is UTF-8.
CREATE FUNCTION daylog_words(message text) RETURNS tsvector
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN array_to_tsvector(CASE
    WHEN octet_length(message) <> length(message) OR octet_length(message) >= 1048576 THEN ARRAY['not indexed']
    WHEN message COLLATE "C" ~ '[A-Za-z0-9]{65}'
      THEN ARRAY(SELECT left(word, 64) FROM regexp_split_to_table(lower(message COLLATE "C"), '[^a-z0-9]+') AS word WHERE word <> '')
    ELSE array_remove(regexp_split_to_array(lower(message COLLATE "C"), '[^a-z0-9]+'), '')
  END);

-- What a `match` asks of the index: every one of `words` (folded by the matcher's rule), as a prefix where
-- `prefixes` says so, among the words of an indexed line; or any line not indexed (a word that is not ASCII is
-- in no line indexed). Each word is cut as daylog_words cuts them: a longer word is looked for by its first 64
-- characters, a longer prefix too, which a word it begins is cut to. Phrases are asked as their words (the
-- index keeps no positions); the matcher checks their order. `words` is never empty: a match has a word.
CREATE FUNCTION daylog_words_query(words text[], prefixes boolean[]) RETURNS tsquery
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  RETURN (SELECT string_agg(quote_literal(left(word, 64)) || CASE WHEN prefix THEN ':*' ELSE '' END, ' & ')
            FROM unnest(words, prefixes) AS term(word, prefix))::tsquery
         || '''not indexed'''::tsquery;
