// The checksum of the build the graph comes from (stale-embedding detection).
MATCH (b:BuildInfo)
RETURN b.checksum AS checksum
ORDER BY b.finished_at DESC
LIMIT 1
