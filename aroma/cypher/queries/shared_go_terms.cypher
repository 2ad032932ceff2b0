// GO terms annotated to both genes.
MATCH (a:Gene {symbol: $a})-[:ANNOTATED_WITH]->(t:GOTerm)<-[:ANNOTATED_WITH]-(b:Gene {symbol: $b})
RETURN t.id AS id, t.name AS name, t.namespace AS namespace
ORDER BY namespace, name
