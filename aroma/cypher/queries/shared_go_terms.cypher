// GO terms annotated to both genes. Collecting one gene's terms first keeps this a few ms:
// expanding from a term back to its genes touches thousands of edges for broad terms.
MATCH (b:Gene {symbol: $b})-[:ANNOTATED_WITH]->(t:GOTerm)
WITH collect(t.id) AS terms_of_b
MATCH (a:Gene {symbol: $a})-[:ANNOTATED_WITH]->(t:GOTerm)
WHERE t.id IN terms_of_b
RETURN t.id AS id, t.name AS name, t.namespace AS namespace
ORDER BY namespace, name
