// Genes whose official symbol is one of $symbols.
UNWIND $symbols AS symbol
MATCH (g:Gene {symbol: symbol})
RETURN g.id AS id, g.symbol AS symbol
