// GO cellular-component terms that are protein complexes: GO:0032991 and everything under it.
MATCH (t:GOTerm)-[:IS_A|PART_OF*0..30]->(root:GOTerm {id: 'GO:0032991'})
RETURN DISTINCT t.id AS id
