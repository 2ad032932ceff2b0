// Member genes of one pathway (Reactome R-HSA-…, msigdb:HALLMARK_…, msigdb:KEGG_…), with its name.
MATCH (p:Pathway {id: $pathway})<-[:MEMBER_OF]-(g:Gene)
RETURN p.name AS pathway_name, g.id AS id, g.symbol AS symbol
ORDER BY symbol
