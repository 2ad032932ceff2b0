"""The AROMA model: graph encoders read from the database, protein encoder, cross-attention fusion, soft tokens."""
