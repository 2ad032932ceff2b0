// Properties of loaded :GOTerm nodes that the bulk importer cannot leave absent (numbers, booleans).
UNWIND $rows AS row
MATCH (n:GOTerm {id: row.id})
SET n += row.properties
