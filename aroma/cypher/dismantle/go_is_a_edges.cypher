// Every is_a edge (child → parent) between GO terms of one namespace, to find all terms below a root in
// memory: a variable-length is_a pattern takes seconds on ArcadeDB.
MATCH (child:GOTerm)-[:IS_A]->(parent:GOTerm)
WHERE child.namespace = $namespace
RETURN child.id AS child, parent.id AS parent
