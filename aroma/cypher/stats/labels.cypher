// Node labels in use (names only; for warnings about unknown labels).
CALL db.labels() YIELD label
RETURN label
