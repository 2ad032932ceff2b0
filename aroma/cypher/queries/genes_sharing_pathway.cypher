// Genes sharing a most-specific pathway with a gene (Reactome leaves, MSigDB sets), most shared first.
// Top-level Reactome pathways (e.g. Signal Transduction, thousands of genes) say little about a pair;
// the stored is_leaf flag is twice as fast as testing for PARENT_OF edges.
MATCH (g:Gene {symbol: $symbol})-[:MEMBER_OF]->(p:Pathway)
WHERE p.is_leaf
MATCH (p)<-[:MEMBER_OF]-(other:Gene)
WHERE other <> g
RETURN other.symbol AS symbol, count(p) AS shared_pathways
ORDER BY shared_pathways DESC, symbol
LIMIT $limit
