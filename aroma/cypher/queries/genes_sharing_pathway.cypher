// Genes that share at least one pathway with a gene, most shared pathways first.
MATCH (g:Gene {symbol: $symbol})-[:MEMBER_OF]->(p:Pathway)<-[:MEMBER_OF]-(other:Gene)
WHERE other <> g
RETURN other.symbol AS symbol, count(p) AS shared_pathways
ORDER BY shared_pathways DESC, symbol
LIMIT $limit
