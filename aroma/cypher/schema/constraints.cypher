// Uniqueness constraints and indexes, created before loading (Neo4j 5 syntax, always named).
CREATE CONSTRAINT gene_id IF NOT EXISTS FOR (n:Gene) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT goterm_id IF NOT EXISTS FOR (n:GOTerm) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT pathway_id IF NOT EXISTS FOR (n:Pathway) REQUIRE n.id IS UNIQUE;
CREATE CONSTRAINT geneset_id IF NOT EXISTS FOR (n:GeneSet) REQUIRE n.id IS UNIQUE;
CREATE INDEX gene_gene_id IF NOT EXISTS FOR (n:Gene) ON (n.gene_id);
CREATE INDEX gene_symbol IF NOT EXISTS FOR (n:Gene) ON (n.symbol);
CREATE INDEX pathway_source IF NOT EXISTS FOR (n:Pathway) ON (n.source);
CREATE INDEX geneset_name IF NOT EXISTS FOR (n:GeneSet) ON (n.name);
