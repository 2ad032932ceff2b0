// Gene nodes from NCBI gene_info; uniprot and sequence_length only where a protein maps.
UNWIND $rows AS row
CREATE (n:Gene {id: row.id, gene_id: row.gene_id, symbol: row.symbol, aliases: row.aliases,
    description: row.description, type: row.type, chromosome: row.chromosome, uniprot: row.uniprot,
    sequence_length: row.sequence_length})
