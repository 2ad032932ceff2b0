// GO term part_of relations, child -> parent as in the OBO file.
UNWIND $rows AS row
MATCH (a:GOTerm {id: row.source})
MATCH (b:GOTerm {id: row.target})
CREATE (a)-[:PART_OF]->(b)
