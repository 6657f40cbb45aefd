"""Retrieval over retailer policies, playbooks and network specs (public schema), embedded on the gpu worker.

Public surface: `selectors.knowledge_visible_to` (the scope), `selectors.knowledge_search`,
`services.knowledge_index` / `knowledge_index_on_commit` / `knowledge_search_request`, `POST /api/v1/rag/search`.
"""
