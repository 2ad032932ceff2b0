// Every pathway or gene set with its source, size and whether it is a leaf.
MATCH (p:Pathway)
RETURN p.id AS id, p.source AS source, p.size AS size, p.is_leaf AS is_leaf
ORDER BY id
