-- ?1 release, ?2 channel, ?3 message, ?4 has thread, ?5 now (unix ms). An upsert: releases that
-- were running before cards existed get their row at their first redraw.
INSERT INTO release_cards (release_id, channel_id, message_id, has_thread, edited_at) VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (release_id) DO UPDATE SET message_id = ?3, has_thread = ?4, edited_at = ?5
