// GO terms (obsolete terms are not loaded).
UNWIND $rows AS row
CREATE (n:GOTerm {id: row.id, name: row.name, namespace: row.namespace, definition: row.definition})
