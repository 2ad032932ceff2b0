// The whole STRING network (Gene-KG interactions) with a combined score of at least $min_score.
MATCH (a:Gene)-[r:INTERACTS_WITH]->(b:Gene)
WHERE r.combined_score >= $min_score
RETURN a.id AS a, b.id AS b, a.symbol AS a_symbol, b.symbol AS b_symbol
