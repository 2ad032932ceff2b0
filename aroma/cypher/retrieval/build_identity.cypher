// The build the graph comes from: its checksum and when it finished (the key of the on-disk cache of
// tables derived from the graph: every rebuild gets new ones).
MATCH (b:BuildInfo)
RETURN b.checksum AS checksum, b.finished_at AS finished_at
ORDER BY b.finished_at DESC
LIMIT 1
