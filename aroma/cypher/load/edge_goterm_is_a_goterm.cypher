// GO term is_a relations, child -> parent as in the OBO file.
UNWIND $rows AS row
MATCH (a:GOTerm {id: row.source})
MATCH (b:GOTerm {id: row.target})
CREATE (a)-[:IS_A]->(b)
