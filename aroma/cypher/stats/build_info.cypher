MATCH (b:BuildInfo)
RETURN b.id AS id, b.started_at AS started_at, b.finished_at AS finished_at, b.seconds AS seconds,
       b.toolkit_version AS toolkit_version, b.sources AS sources, b.mappings AS mappings,
       b.stage_seconds AS stage_seconds, b.checksum AS checksum,
       b.string_min_score AS string_min_score, b.string_below_min_score AS string_below_min_score
ORDER BY b.finished_at DESC
LIMIT 1
