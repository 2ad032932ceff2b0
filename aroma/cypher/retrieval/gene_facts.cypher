// What each gene is: NCBI description and type, UniProt accession, STRING degree, TRRUST targets.
UNWIND $ids AS id
MATCH (g:Gene {id: id})
RETURN g.id AS id, g.symbol AS symbol, g.description AS description, g.type AS type, g.uniprot AS uniprot,
       COUNT { (g)-[:INTERACTS_WITH]-(:Gene) } AS degree,
       COUNT { (g)-[:REGULATES]->(:Gene) } AS regulated_targets
