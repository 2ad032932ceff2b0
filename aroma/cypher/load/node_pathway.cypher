// Reactome pathways, MSigDB hallmark and KEGG sets; `source` tells them apart.
UNWIND $rows AS row
CREATE (n:Pathway {id: row.id, name: row.name, source: row.source, url: row.url})
