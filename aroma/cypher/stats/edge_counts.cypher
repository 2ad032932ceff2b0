MATCH (a)-[r]->(b)
RETURN labels(a)[0] AS source, type(r) AS type, labels(b)[0] AS target, count(*) AS count
ORDER BY type, source, target
