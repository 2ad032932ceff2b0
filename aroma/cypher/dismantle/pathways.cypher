// Pathways of one source (reactome, msigdb_hallmark, kegg) with their member counts, for benchmarks.
MATCH (p:Pathway)
WHERE p.source = $source AND p.size >= $min_size AND p.size <= $max_size
RETURN p.id AS id, p.name AS name, p.size AS size, p.is_leaf AS is_leaf
ORDER BY id
