"""API schemas (pydantic), separate from the tables: what clients send and receive."""
