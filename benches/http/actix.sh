#!/usr/bin/env bash
# HTTP benchmark of the actix-web middleware against actix-session (issue 5): the same script as
# the axum benchmark (benches/http/run.sh, which documents every variable), run over
# src/bin/bench_server_actix.rs. See benches/http/README.md.
#
#   bash benches/http/actix.sh
#   DURATION=8 ROUNDS=3 bash benches/http/actix.sh
exec env FRAMEWORK=actix bash "$(dirname "${BASH_SOURCE[0]}")/run.sh" "$@"
