// Which of the genes $ids are annotated with one of the GO terms $terms.
UNWIND $ids AS id
MATCH (g:Gene {id: id})-[:ANNOTATED_WITH]->(t:GOTerm)
WHERE t.id IN $terms
RETURN DISTINCT g.id AS id
