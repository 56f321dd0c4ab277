SELECT id FROM installation LIMIT 1
