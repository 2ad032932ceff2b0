// Every gene with the properties used as node features, and its UniProt accession (protein embeddings).
MATCH (g:Gene)
RETURN g.id AS id, g.symbol AS symbol, g.type AS type, g.sequence_length AS sequence_length,
       g.uniprot AS uniprot
ORDER BY id
