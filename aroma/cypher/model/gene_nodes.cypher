// Every gene with the properties used as node features.
MATCH (g:Gene)
RETURN g.id AS id, g.symbol AS symbol, g.type AS type, g.sequence_length AS sequence_length
ORDER BY id
