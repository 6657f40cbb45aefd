"""The adapter registry (public schema): LoRA adapters per retailer, per brand and per task, their signed and encrypted
artifacts, who may use which (`access`), and the router that picks a stack for a request (`router`).

Public surface: `access.adapter_usable` / `adapter_for_use`, `router.route`, `artifacts.load_verified` (raises
`artifacts.ArtifactTampered`), `services.adapter_upload` / `adapter_approve` / `adapter_retire` / `adapter_update`.
Artifacts are stored encrypted under settings.RMN_ADAPTER_DIR/<adapter id>/ (see `artifacts`).
"""
