"""Source adapters: each reads one publisher's format and yields typed records, knowing nothing of the store."""
