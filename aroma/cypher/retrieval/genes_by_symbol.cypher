// Genes whose official symbol is one of $symbols.
UNWIND $symbols AS symbol
MATCH (g:Gene {symbol: symbol})
RETURN symbol, g.id AS id
