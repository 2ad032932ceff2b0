// Properties of loaded :GeneSet nodes that the bulk importer cannot leave absent (numbers, booleans).
UNWIND $rows AS row
MATCH (n:GeneSet {id: row.id})
SET n += row.properties
