// Which of the genes $ids regulate at least one gene in TRRUST (transcription factors).
UNWIND $ids AS id
MATCH (g:Gene {id: id})
WHERE EXISTS { MATCH (g)-[:REGULATES]->(:Gene) }
RETURN g.id AS id
