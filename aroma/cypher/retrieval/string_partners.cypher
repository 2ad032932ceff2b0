// The STRING partners of each gene of $ids whose link scores at least $min_score (bounded path search and
// strongest partners; the caller ranks them). The pattern starts at the indexed gene: ArcadeDB plans from the
// first node of a pattern.
UNWIND $ids AS id
MATCH (a:Gene {id: id})-[r:INTERACTS_WITH]-(b:Gene)
WHERE r.combined_score >= $min_score
RETURN a.id AS id, a.symbol AS symbol, b.id AS partner, b.symbol AS partner_symbol, r.combined_score AS combined_score
