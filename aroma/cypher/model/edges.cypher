// Edge lists of the given relationship types, with the STRING score where there is one.
MATCH (a)-[r]->(b)
WHERE type(r) IN $types
RETURN labels(a)[0] AS source_label, type(r) AS type, labels(b)[0] AS target_label, a.id AS source,
       b.id AS target, r.combined_score AS score
