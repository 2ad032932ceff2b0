// NCBI gene2go: one edge per gene and term, evidence codes aggregated.
UNWIND $rows AS row
MATCH (a:Gene {id: row.source})
MATCH (b:GOTerm {id: row.target})
CREATE (a)-[:ANNOTATED_WITH {evidence: row.evidence, qualifier: row.qualifier, aspect: row.aspect}]->(b)
