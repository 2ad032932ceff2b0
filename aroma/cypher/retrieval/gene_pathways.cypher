// Pathways and gene sets of each gene, with their size and whether they are most specific (leaves).
UNWIND $ids AS id
MATCH (g:Gene {id: id})-[:MEMBER_OF]->(p:Pathway)
RETURN id, p.id AS pathway, p.name AS name, p.source AS source, p.size AS size, p.is_leaf AS is_leaf
