// Reactome pathways, MSigDB hallmark and KEGG sets; `source` tells them apart, `size` counts members,
// `is_leaf` marks pathways with no sub-pathway (every MSigDB set).
UNWIND $rows AS row
CREATE (n:Pathway {id: row.id, name: row.name, source: row.source, url: row.url, size: row.size,
    is_leaf: row.is_leaf})
