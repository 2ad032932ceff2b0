// Gene membership in Reactome pathways (all levels) and MSigDB sets.
UNWIND $rows AS row
MATCH (a:Gene {id: row.source})
MATCH (b:Pathway {id: row.target})
CREATE (a)-[:MEMBER_OF {evidence: row.evidence}]->(b)
