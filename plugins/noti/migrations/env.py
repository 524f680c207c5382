from wealist_core.migrations import run_env

run_env()
