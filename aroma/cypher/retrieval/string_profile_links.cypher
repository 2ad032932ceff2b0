// STRING links scoring at least $min_score, for the similarity's STRING profiles: links below STRING's
// medium confidence (a threshold-0 build holds millions) are left out of them.
MATCH (a:Gene)-[r:INTERACTS_WITH]->(b:Gene)
WHERE r.combined_score >= $min_score
RETURN a.id AS source, b.id AS target, r.combined_score AS score
