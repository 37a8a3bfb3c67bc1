"""People answer the yes/no questions and check the written reasons: agreement rules, the SQLite store,
the web app (FastAPI) and the interchange with other annotation tools."""
