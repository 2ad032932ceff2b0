// Every GO term with its namespace and how many genes it annotates.
MATCH (t:GOTerm)
RETURN t.id AS id, t.namespace AS namespace, t.gene_count AS gene_count
ORDER BY id
