// GO annotations of each gene with how specific each term is (genes annotated to it).
UNWIND $ids AS id
MATCH (g:Gene {id: id})-[a:ANNOTATED_WITH]->(t:GOTerm)
RETURN id, t.id AS term, t.name AS name, t.namespace AS namespace, t.gene_count AS gene_count,
       a.evidence AS evidence
