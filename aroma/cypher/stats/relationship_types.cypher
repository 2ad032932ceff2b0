// Relationship types in use (names only; for warnings about unknown types).
CALL db.relationshipTypes() YIELD relationshipType
RETURN relationshipType AS type
