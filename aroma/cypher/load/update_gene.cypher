// Properties of loaded :Gene nodes that the bulk importer cannot leave absent (numbers, booleans).
UNWIND $rows AS row
MATCH (n:Gene {id: row.id})
SET n += row.properties
