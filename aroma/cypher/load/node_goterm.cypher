// GO terms (obsolete terms are not loaded); gene_count = genes annotated directly (specificity).
UNWIND $rows AS row
CREATE (n:GOTerm {id: row.id, name: row.name, namespace: row.namespace, definition: row.definition,
    gene_count: row.gene_count})
