// GO term positively_regulates relations, child -> parent as in the OBO file.
UNWIND $rows AS row
MATCH (a:GOTerm {id: row.source})
MATCH (b:GOTerm {id: row.target})
CREATE (a)-[:POSITIVELY_REGULATES]->(b)
