// STRING interactions among the genes $ids with a combined score of at least $min_score, once per pair.
// The pattern starts at the indexed gene: ArcadeDB plans from the first node of a pattern.
UNWIND $ids AS id
MATCH (a:Gene {id: id})-[r:INTERACTS_WITH]->(b:Gene)
WHERE b.id IN $ids AND r.combined_score >= $min_score
RETURN a.id AS a, b.id AS b
