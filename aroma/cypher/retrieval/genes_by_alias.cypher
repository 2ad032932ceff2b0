// Genes listing one of $symbols among their NCBI aliases (a scan: run only for symbols left unresolved).
MATCH (g:Gene)
WHERE any(alias IN g.aliases WHERE alias IN $symbols)
RETURN g.id AS id, g.symbol AS symbol, [alias IN g.aliases WHERE alias IN $symbols] AS matched
