// STRING v12 interactions, stored once per gene pair (undirected semantics: match without direction).
UNWIND $rows AS row
MATCH (a:Gene {id: row.source})
MATCH (b:Gene {id: row.target})
CREATE (a)-[:INTERACTS_WITH {combined_score: row.combined_score, score: row.score,
    neighborhood: row.neighborhood, fusion: row.fusion, cooccurence: row.cooccurence,
    coexpression: row.coexpression, experimental: row.experimental, database: row.database,
    textmining: row.textmining}]->(b)
