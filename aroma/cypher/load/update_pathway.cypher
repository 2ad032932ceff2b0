// Properties of loaded :Pathway nodes that the bulk importer cannot leave absent (numbers, booleans).
UNWIND $rows AS row
MATCH (n:Pathway {id: row.id})
SET n += row.properties
