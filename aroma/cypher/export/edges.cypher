// Every relationship with the ids of its ends and its properties, for export.
MATCH (a)-[r]->(b)
RETURN a.id AS source, type(r) AS type, b.id AS target, properties(r) AS properties
