// Genes whose NCBI alias, or symbol in another letter case, is one of $symbols (given in upper case).
// A scan: run only for the symbols left unresolved by genes_by_symbol.
MATCH (g:Gene)
WHERE toUpper(g.symbol) IN $symbols OR any(alias IN g.aliases WHERE toUpper(alias) IN $symbols)
RETURN g.id AS id, g.symbol AS symbol,
       [name IN [g.symbol] + g.aliases WHERE toUpper(name) IN $symbols | toUpper(name)] AS matched
