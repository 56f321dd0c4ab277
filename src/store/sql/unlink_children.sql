-- A deleted release's children keep running or stay as they ended; they no longer name it.
UPDATE releases SET parent_release_id = NULL WHERE parent_release_id = ?
