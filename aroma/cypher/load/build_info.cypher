// One BuildInfo node records how the graph was built (sources, checksums, timings, unmapped records).
CREATE (b:BuildInfo {id: $id, started_at: $started_at, finished_at: $finished_at, seconds: $seconds,
    toolkit_version: $toolkit_version, sources: $sources, mappings: $mappings, stage_seconds: $stage_seconds,
    checksum: $checksum, string_min_score: $string_min_score, string_below_min_score: $string_below_min_score})
