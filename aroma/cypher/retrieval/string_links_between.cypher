// STRING interactions of at least $min_score between the genes $xs and the genes $ys, either direction
// (middle edges of 3-hop paths). The pattern starts at the indexed gene: ArcadeDB plans from the first node of
// a pattern.
UNWIND $xs AS x_id
MATCH (x:Gene {id: x_id})-[r:INTERACTS_WITH]-(y:Gene)
WHERE r.combined_score >= $min_score AND y.id IN $ys
RETURN x.id AS x, y.id AS y, r.combined_score AS combined_score
