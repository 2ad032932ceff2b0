// Every graph node with its properties, for export (BuildInfo excluded).
MATCH (n)
WHERE NOT n:BuildInfo
RETURN labels(n)[0] AS label, n.id AS id, properties(n) AS properties
