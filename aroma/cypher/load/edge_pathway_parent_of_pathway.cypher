// Reactome hierarchy, parent -> child.
UNWIND $rows AS row
MATCH (a:Pathway {id: row.source})
MATCH (b:Pathway {id: row.target})
CREATE (a)-[:PARENT_OF]->(b)
